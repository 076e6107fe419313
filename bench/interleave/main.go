// Command interleave times programs the way bench/run.sh needs for a ratio on
// a busy machine: run by run in turn (A, B, A, B…) rather than all runs of A
// then all of B, so that a change in the machine's load falls on both alike.
//
//	interleave -runs N -warmup W -json FILE NAME=COMMAND…
//
// COMMAND is split on spaces (no shell). FILE gets hyperfine's layout:
// {"results": [{"command": NAME, "median": s, "min": s, "max": s}]}.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	runs := flag.Int("runs", 300, "timed runs of each command")
	warmup := flag.Int("warmup", 20, "untimed runs of each command first")
	out := flag.String("json", "", "write the results here")
	flag.Parse()
	var names []string
	var cmds [][]string
	for _, a := range flag.Args() {
		name, cmd, ok := strings.Cut(a, "=")
		if !ok {
			fail(fmt.Errorf("want NAME=COMMAND, got %q", a))
		}
		names, cmds = append(names, name), append(cmds, strings.Fields(cmd))
	}
	times := make([][]float64, len(cmds))
	for i := range *warmup + *runs {
		for j, c := range cmds {
			start := time.Now()
			if err := exec.Command(c[0], c[1:]...).Run(); err != nil {
				fail(fmt.Errorf("%s: %w", names[j], err))
			}
			if i >= *warmup {
				times[j] = append(times[j], time.Since(start).Seconds())
			}
		}
	}
	var res []map[string]any
	for j, ts := range times {
		slices.Sort(ts)
		res = append(res, map[string]any{"command": names[j], "median": ts[len(ts)/2], "min": ts[0], "max": ts[len(ts)-1]})
	}
	b, _ := json.Marshal(map[string]any{"results": res})
	fail(os.WriteFile(*out, b, 0o644))
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "interleave:", err)
		os.Exit(1)
	}
}
