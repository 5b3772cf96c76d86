package chat

import (
	"encoding/json"
	"strings"
)

// CallText returns the text a model of format f writes around one call of
// the function name: before its JSON arguments and after them, as its
// template teaches it, so that a grammar can hold the model to that form
// (and a ToolCallParser reads it back). For DeepSeek, templateSrc decides
// between the R1 form (a ```json fence) and the V3.1 form. ok is false for
// ToolFormatNone.
func (f ToolFormat) CallText(templateSrc, name string) (before, after string, ok bool) {
	switch f {
	case ToolFormatQwen:
		q, _ := json.Marshal(name)
		return qwenBegin + "\n{\"name\": " + string(q) + ", \"arguments\": ", "}\n" + qwenEnd, true
	case ToolFormatDeepSeek:
		if strings.Contains(templateSrc, "```json") {
			return dsCallsBegin + dsCallBegin + "function" + dsSep + name + "\n```json\n", "\n```" + dsCallEnd + dsCallsEnd, true
		}
		return dsCallsBegin + dsCallBegin + name + dsSep, dsCallEnd + dsCallsEnd, true
	}
	return "", "", false
}
