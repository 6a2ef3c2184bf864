package changes

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
)

// base85 is git's alphabet for binary patches.
const base85 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"

// literal is one "literal" hunk of a GIT binary patch: b deflated, then in
// lines of up to 52 bytes, each led by its length ('A'..'Z' for 1..26,
// 'a'..'z' for 27..52) and base85-encoded in big-endian groups of four.
func literal(b []byte) string {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(b) // a bytes.Buffer does not fail
	_ = zw.Close()
	data := z.Bytes()
	var out strings.Builder
	fmt.Fprintf(&out, "literal %d\n", len(b))
	for len(data) > 0 {
		n := min(len(data), 52)
		line := data[:n]
		data = data[n:]
		if n <= 26 {
			out.WriteByte(byte('A' + n - 1))
		} else {
			out.WriteByte(byte('a' + n - 27))
		}
		for i := 0; i < n; i += 4 {
			var v uint32
			for j := range 4 {
				v <<= 8
				if i+j < n {
					v |= uint32(line[i+j])
				}
			}
			var enc [5]byte
			for k := 4; k >= 0; k-- {
				enc[k] = base85[v%85]
				v /= 85
			}
			out.Write(enc[:])
		}
		out.WriteByte('\n')
	}
	out.WriteByte('\n')
	return out.String()
}
