package main

import "github.com/spaceauth/spaceauth/internal/third_party/argon2"

// The soak's host control: a fixed job the load generator runs controlRate
// times a second beside the traffic and never sends to the server. It is
// an Argon2id hash like a sign-in's at a nineteenth of its memory (1 MiB,
// 2 passes, about 1.5 ms of CPU), into a kept buffer, so it allocates
// nothing. Its per-minute time is the machine's own: when the same fixed
// work takes 30% longer in a minute, a server's p99 that moved with it
// says nothing about the server.
const (
	controlRate   = 10
	controlMemory = 1024 // KiB
	controlPasses = 2
)

type controlJob struct {
	buf  *argon2.Buffer
	salt [16]byte
}

func newControlJob() *controlJob { return &controlJob{buf: argon2.NewBuffer(controlMemory, 1)} }

func (j *controlJob) run() {
	argon2.IDKeyInto(j.buf, []byte(benchPW), j.salt[:], controlPasses, controlMemory, 1, 32)
}
