package docker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bottle-dev/bottle/backend"
)

// jsonMessage is one message of a pull or build stream. It mirrors the
// engine's JSONMessage fields we need; decoding it here avoids pulling in
// pkg/jsonmessage and its terminal handling.
type jsonMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	ID          string `json:"id"`
	Progress    string `json:"progress"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux *struct {
		ID string `json:"ID"`
	} `json:"aux"`
}

// readStream reads a pull or build stream to EOF and returns the image ID the
// stream announced (builds do, in an "aux" message). The HTTP status of these
// calls is 200 even when they fail: a failure arrives as an error message in
// the stream, so the stream must be read to the end and decoded, and that
// message becomes the returned error. Human lines go to p.
func readStream(r io.Reader, p backend.Progress) (string, error) {
	dec := json.NewDecoder(r)
	var id string
	var partial strings.Builder
	emit := func(line string) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) != "" && p != nil {
			p.Progress(line)
		}
	}
	for {
		var m jsonMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read engine stream: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return "", errors.New(strings.TrimSpace(m.ErrorDetail.Message))
		}
		if m.Error != "" {
			return "", errors.New(strings.TrimSpace(m.Error))
		}
		if m.Aux != nil && m.Aux.ID != "" {
			id = m.Aux.ID
		}
		switch {
		case m.Stream != "":
			// Build output comes in arbitrary chunks; report whole lines.
			partial.WriteString(m.Stream)
			s := partial.String()
			last := strings.LastIndexByte(s, '\n')
			if last < 0 {
				continue
			}
			for line := range strings.SplitSeq(s[:last], "\n") {
				emit(line)
			}
			partial.Reset()
			partial.WriteString(s[last+1:])
		case m.Status != "" && m.Progress == "":
			// Progress-bar updates (byte counts) are dropped: a pull sends
			// hundreds of them per layer. Status changes are kept.
			if m.ID != "" {
				emit(m.ID + ": " + m.Status)
			} else {
				emit(m.Status)
			}
		}
	}
	emit(partial.String())
	return id, nil
}
