package workflow

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/mirrorflow/mirrorflow/shared/placement"
)

// LambdaCause is the cause Step Functions records when a lambda:invoke Task
// fails with the function's own error: the JSON document aws-lambda-go
// returns, which the console shows and the dead-letter message carries as a
// string.
type LambdaCause struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// ParseCause reads a recorded cause. A Lambda error's cause is a JSON
// document with errorMessage and errorType; States.* errors and Fail states
// record plain text, which ParseCause returns as the message with ok false so
// callers can show every cause the same way.
func ParseCause(cause string) (c LambdaCause, ok bool) {
	trimmed := strings.TrimSpace(cause)
	if strings.HasPrefix(trimmed, "{") {
		var doc struct {
			ErrorMessage *string `json:"errorMessage"`
			ErrorType    string  `json:"errorType"`
		}
		if err := json.Unmarshal([]byte(trimmed), &doc); err == nil && doc.ErrorMessage != nil {
			return LambdaCause{ErrorMessage: *doc.ErrorMessage, ErrorType: doc.ErrorType}, true
		}
	}
	return LambdaCause{ErrorMessage: trimmed}, false
}

// rejectedList finds where NoReachableSensor's message starts its list of
// rejections ("... rejected the last 2 candidate(s): tmt-...: reason; ...",
// or "... rejected the last 900 candidate(s), the first 50 listed: ..." when
// there were more than steperr.MaxListedRejections).
var rejectedList = regexp.MustCompile(`rejected the last \d+ candidate\(s\)(?:, the first \d+ listed)?: `)

// rejectionStart finds each "tmt-<id>: " that opens one rejection. Target
// ids have a fixed shape, so a "; " inside a reason does not split it.
var rejectionStart = regexp.MustCompile(`(?:^|; )(tmt-[0-9a-f]{8}(?:[0-9a-f]{9})?): `)

// Rejections recovers the rejections a NoReachableSensor error lists in its
// message. A failed step returns no payload, so its message is the only
// place the trace can learn which sensors it rejected and why. It returns nil
// for any other message.
func (c LambdaCause) Rejections() []placement.Rejection {
	loc := rejectedList.FindStringIndex(c.ErrorMessage)
	if loc == nil {
		return nil
	}
	list := c.ErrorMessage[loc[1]:]
	starts := rejectionStart.FindAllStringSubmatchIndex(list, -1)
	out := make([]placement.Rejection, 0, len(starts))
	for i, m := range starts {
		end := len(list)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		out = append(out, placement.Rejection{TargetID: list[m[2]:m[3]], Reason: list[m[1]:end]})
	}
	return out
}
