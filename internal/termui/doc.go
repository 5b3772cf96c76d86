// Package termui draws qilin's terminal output: a progress bar that
// redraws in place on a terminal and prints plain periodic lines when the
// output is a file or a pipe, a spinner for waits of unknown length, the
// formatting of sizes, rates and ages, and the pieces of the chat REPL:
// Input (line editing, history and multi-line messages on a terminal,
// plain lines elsewhere, Ctrl-C handling) and AnswerWriter (reasoning
// dimmed or framed, then the answer).
package termui
