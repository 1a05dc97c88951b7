package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawConn is one keep-alive HTTP/1.1 connection that writes prepared
// requests and reads just the status and body. It costs the load generator
// a fraction of net/http's client, which matters when both share two cores:
// every microsecond the client spends is taken from the server.
type rawConn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
	body []byte
}

func newRawConn(addr string) *rawConn { return &rawConn{addr: addr} }

// request builds the bytes of one request.
func request(method, host, path string, headers map[string]string, body string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if body != "" || method == "POST" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.Bytes()
}

// do sends req and returns the status and the body (valid until the next
// call). A broken connection is redialled once.
func (c *rawConn) do(req []byte) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		if c.c == nil {
			conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
			if err != nil {
				return 0, nil, err
			}
			c.c, c.r = conn, bufio.NewReaderSize(conn, 16<<10)
		}
		c.c.SetDeadline(time.Now().Add(30 * time.Second))
		status, body, err := c.roundTrip(req)
		if err == nil {
			return status, body, nil
		}
		c.c.Close()
		c.c = nil
		if attempt > 0 {
			return 0, nil, err
		}
	}
}

func (c *rawConn) roundTrip(req []byte) (int, []byte, error) {
	if _, err := c.c.Write(req); err != nil {
		return 0, nil, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, err
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			length, err = strconv.Atoi(string(v))
			if err != nil {
				return 0, nil, err
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			closing = bytes.EqualFold(v, []byte("close"))
		}
	}
	c.body = c.body[:0]
	switch {
	case chunked:
		for {
			l, err := c.r.ReadSlice('\n')
			if err != nil {
				return 0, nil, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(l)), 16, 32)
			if err != nil {
				return 0, nil, err
			}
			if n == 0 {
				if _, err := c.r.ReadSlice('\n'); err != nil {
					return 0, nil, err
				}
				break
			}
			if c.body, err = readN(c.r, c.body, int(n)); err != nil {
				return 0, nil, err
			}
			if _, err := c.r.Discard(2); err != nil {
				return 0, nil, err
			}
		}
	case length >= 0:
		if c.body, err = readN(c.r, c.body, length); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, errors.New("response without length")
	}
	if closing {
		c.c.Close()
		c.c = nil
	}
	return status, c.body, nil
}

func readN(r io.Reader, dst []byte, n int) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	_, err := io.ReadFull(r, dst[start:])
	return dst, err
}
