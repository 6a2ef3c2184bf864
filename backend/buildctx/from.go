package buildctx

import (
	"bufio"
	"bytes"
	"strings"
)

// BaseImage returns the image the first stage of dockerfile starts from: the
// reference of its first FROM instruction, without flags such as
// --platform. It returns "" when there is none, or when the line continues
// onto the next one or names a build argument: then the base is only known
// to the builder.
func BaseImage(dockerfile []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(dockerfile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if !strings.EqualFold(fields[0], "FROM") {
			if strings.EqualFold(fields[0], "ARG") {
				continue // an ARG may come before the first FROM
			}
			return ""
		}
		for _, f := range fields[1:] {
			switch {
			case strings.HasPrefix(f, "--"):
				continue
			case strings.ContainsAny(f, "$\\"):
				return ""
			default:
				return f
			}
		}
		return ""
	}
	return ""
}
