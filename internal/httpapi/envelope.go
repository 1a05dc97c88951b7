package httpapi

import (
	"encoding/json"
	"net/http"
)

// envelope is the Nexudus ActionConfirmation (SPEC §2); field order is the
// contract's key order.
type envelope struct {
	Status        int                 `json:"Status"`
	Message       string              `json:"Message"`
	Value         any                 `json:"Value"`
	Errors        map[string][]string `json:"Errors"`
	WasSuccessful bool                `json:"WasSuccessful"`
}

// writeJSON writes v with the given HTTP status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"Status":500,"Message":"internal error","Value":null,"Errors":null,"WasSuccessful":false}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// ok writes a successful envelope.
func (s *Server) ok(w http.ResponseWriter, r *http.Request, value any, msgKey string) {
	writeJSON(w, http.StatusOK, envelope{Status: 200, Message: s.cat.T(langOf(r), msgKey), Value: value, WasSuccessful: true})
}
