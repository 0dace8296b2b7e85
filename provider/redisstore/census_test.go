package redisstore

import (
	"errors"
	"strings"
	"testing"
)

func TestClusterReplicasUp(t *testing.T) {
	const (
		master = "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n"
		other  = "b1 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-10922\n"
	)
	tests := []struct {
		name  string
		table string
		want  int
	}{
		{"no replica", master + other, 0},
		{"two replicas", master + other +
			"r1 127.0.0.1:7003@17003 slave a1 0 0 1 connected\n" +
			"r2 127.0.0.1:7004@17004 slave a1 0 0 1 connected\n", 2},
		{"a replica of another master", master + other +
			"r3 127.0.0.1:7005@17005 slave b1 0 0 2 connected\n", 0},
		{"one failing, one suspected, one up", master + other +
			"r1 127.0.0.1:7003@17003 slave,fail a1 0 0 1 disconnected\n" +
			"r2 127.0.0.1:7004@17004 slave,fail? a1 0 0 1 connected\n" +
			"r4 127.0.0.1:7006@17006 slave a1 0 0 1 connected\n", 1},
		{"a dead former master", master + other +
			"d1 127.0.0.1:7007@17007 master,fail - 0 0 1 disconnected\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clusterReplicasUp(tt.table); got != tt.want {
				t.Errorf("clusterReplicasUp = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestReplicasOnline(t *testing.T) {
	info := "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n" +
		"slave0:ip=127.0.0.1,port=7003,state=online,offset=100,lag=0\r\n" +
		"slave1:ip=127.0.0.1,port=7004,state=wait_bgsave,offset=0,lag=0\r\nmaster_repl_offset:100\r\n"
	if got := replicasOnline(info); got != 1 {
		t.Errorf("replicasOnline = %d, want 1 (one online, one still synchronising)", got)
	}
}

func TestSentinelsAgreed(t *testing.T) {
	master := func(port, flags string) sentinelAnswer {
		return sentinelAnswer{master: map[string]string{"ip": "10.0.0.1", "port": port, "flags": flags}}
	}
	down := sentinelAnswer{err: errors.New("connection refused")}
	tests := []struct {
		name        string
		answers     []sentinelAnswer
		wantFirst   string // the port of the master taken, "" for none
		wantRunning bool
		wantErr     bool
	}{
		{"all agree", []sentinelAnswer{master("6379", "master"), master("6379", "master")}, "6379", false, false},
		{"one down, the others agree", []sentinelAnswer{down, master("6379", "master")}, "6379", false, false},
		{"a failover in progress", []sentinelAnswer{master("6379", "master"), master("6379", "master,failover_in_progress")}, "", true, false},
		{"two masters named", []sentinelAnswer{master("6379", "master"), master("6380", "master")}, "6379", true, false},
		{"none answers", []sentinelAnswer{down, down}, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, running, err := agreed(tt.answers)
			port := ""
			if first != nil {
				port = first.master["port"]
			}
			if port != tt.wantFirst || running != tt.wantRunning || (err != nil) != tt.wantErr {
				t.Errorf("agreed = %q, %v, %v; want %q, %v, error %v", port, running, err, tt.wantFirst, tt.wantRunning, tt.wantErr)
			}
		})
	}
}

func TestSentinelReplicasUp(t *testing.T) {
	replicas := []map[string]string{
		{"ip": "10.0.0.2", "port": "6379", "flags": "slave"},
		{"ip": "10.0.0.3", "port": "6379", "flags": "slave,s_down"},
		{"ip": "10.0.0.4", "port": "6379", "flags": "slave,o_down"},
		{"ip": "10.0.0.5", "port": "6379", "flags": "slave,disconnected"},
		{"ip": "10.0.0.6", "port": "6379", "flags": "slave"},
	}
	if got := strings.Join(replicasUp(replicas), " "); got != "10.0.0.2:6379 10.0.0.6:6379" {
		t.Errorf("replicasUp = %q, want the two not flagged", got)
	}
}
