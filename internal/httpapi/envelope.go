package httpapi

import (
	"encoding/json"
	"net/http"
)

// envelope is the Nexudus ActionConfirmation (SPEC §2), every key in the
// contract's order. spaceauth has nothing to say in OpenInDialog through
// UpdatedBy, so they always carry Nexudus's empty values; clients that
// deserialize into the full class still find every member.
type envelope struct {
	Status        int                 `json:"Status"`
	Message       string              `json:"Message"`
	Value         any                 `json:"Value"`
	OpenInDialog  bool                `json:"OpenInDialog"`
	OpenInWindow  bool                `json:"OpenInWindow"`
	RedirectURL   *string             `json:"RedirectURL"`
	JavaScript    *string             `json:"JavaScript"`
	UpdatedOn     *string             `json:"UpdatedOn"`
	UpdatedBy     *string             `json:"UpdatedBy"`
	Errors        map[string][]string `json:"Errors"`
	WasSuccessful bool                `json:"WasSuccessful"`
}

// internalErrorBody is sent when an answer cannot be encoded at all.
const internalErrorBody = `{"Status":500,"Message":"internal error","Value":null,"OpenInDialog":false,"OpenInWindow":false,` +
	`"RedirectURL":null,"JavaScript":null,"UpdatedOn":null,"UpdatedBy":null,"Errors":null,"WasSuccessful":false}`

// writeJSON writes v with the given HTTP status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(internalErrorBody)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// ok writes a successful envelope.
// It returns nil so that a handler can end with it.
func (s *Server) ok(w http.ResponseWriter, r *http.Request, value any, msgKey string) error {
	writeJSON(w, http.StatusOK, envelope{Status: 200, Message: s.cat.T(langOf(r), msgKey), Value: value, WasSuccessful: true})
	return nil
}
