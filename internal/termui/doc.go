// Package termui draws qilin's terminal output: a progress bar that
// redraws in place on a terminal and prints plain periodic lines when the
// output is a file or a pipe, and the formatting of sizes, rates and ages.
package termui
