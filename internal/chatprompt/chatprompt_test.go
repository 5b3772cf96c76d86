package chatprompt

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMarkJSONKeepsOrderAndKeys(t *testing.T) {
	in := json.RawMessage(`{"b":"x<y","a":[1,2.50,{"k":"v"},null,true],"c":{"z":"q","y":""}}`)
	out, err := markJSON(in, strings.ToUpper)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"b":"X\u003cY","a":[1,2.50,{"k":"V"},null,true],"c":{"z":"Q","y":""}}`
	if string(out) != want {
		t.Errorf("markJSON = %s\nwant      %s", out, want)
	}
	if _, err := markJSON(json.RawMessage(`{"a":`), strings.ToUpper); err == nil {
		t.Error("truncated JSON accepted")
	}
}
