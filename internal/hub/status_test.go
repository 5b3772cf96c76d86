package hub

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestStatusError covers the Hub's answers the emulation does not give,
// such as 401 with RepoNotFound for a missing repository without a token.
func TestStatusError(t *testing.T) {
	tests := []struct {
		code    int
		errCode string
		file    string
		token   bool
		is      error
		says    string
	}{
		{401, "RepoNotFound", "", false, ErrNotFound, "a private repository needs HF_TOKEN"},
		{401, "RepoNotFound", "x.gguf", false, ErrNotFound, "repository or revision not found"},
		{404, "RevisionNotFound", "x.gguf", true, ErrNotFound, "check the name)"},
		{404, "EntryNotFound", "x.gguf", false, ErrNotFound, `file "x.gguf" not found`},
		{401, "GatedRepo", "x.gguf", false, ErrAccess, "set HF_TOKEN"},
		{403, "", "", true, ErrAccess, "HF_TOKEN given has no access"},
		{500, "", "x.gguf", false, nil, "hf.co/o/r/x.gguf: HTTP 500"},
	}
	for _, tt := range tests {
		resp := &http.Response{StatusCode: tt.code, Status: strconv.Itoa(tt.code) + " " + http.StatusText(tt.code), Header: http.Header{}}
		if tt.errCode != "" {
			resp.Header.Set("X-Error-Code", tt.errCode)
		}
		err := statusError(resp, "o/r", tt.file, tt.token)
		if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%d %s: %v; want %v saying %q", tt.code, tt.errCode, err, tt.is, tt.says)
		}
	}
	if err := statusError(&http.Response{StatusCode: 206}, "o/r", "", false); err != nil {
		t.Errorf("206: %v", err)
	}
}
