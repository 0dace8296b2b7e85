package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux the bench runs on).
const clockTick = 10 * time.Millisecond

// cpuTime is the CPU a process has used so far, user and system, from
// /proc/<pid>/stat (pid 0: the bench itself); false when it cannot say.
func cpuTime(pid int) (time.Duration, bool) {
	name := "/proc/self/stat"
	if pid > 0 {
		name = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, false
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a stat line.
// The command's name (field 2) is in parentheses and may hold spaces, so
// the fields are counted from its closing one.
func parseStatCPU(stat string) (time.Duration, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, false
	}
	user, err1 := strconv.ParseInt(f[11], 10, 64)
	sys, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(user+sys) * clockTick, true
}

// cpuMeter reads the CPU of the processes a window loads: the server,
// the redis-servers it uses and the load generator (this process).
type cpuMeter struct {
	server int
	redis  []int
}

// cpuReading is one reading of a meter; ok is false when a process could
// not be read.
type cpuReading struct {
	server, redis, load time.Duration
	ok                  bool
}

func (m cpuMeter) read() cpuReading {
	r := cpuReading{ok: true}
	var ok bool
	if r.server, ok = cpuTime(m.server); !ok {
		r.ok = false
	}
	for _, pid := range m.redis {
		d, ok := cpuTime(pid)
		r.redis += d
		r.ok = r.ok && ok
	}
	if r.load, ok = cpuTime(0); !ok {
		r.ok = false
	}
	return r
}

// perRequest is the CPU each process spent per request between two
// readings, in µs; ok is false when either reading is missing or there
// were no requests.
func perRequest(before, after cpuReading, requests int) (server, redis, load float64, ok bool) {
	if !before.ok || !after.ok || requests <= 0 {
		return 0, 0, 0, false
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / float64(requests) }
	return us(after.server - before.server), us(after.redis - before.redis), us(after.load - before.load), true
}
