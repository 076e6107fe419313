// Package editdist is the one edit distance of tokenkeeper: the CLI's "did you
// mean" for flags, commands, profiles and presets, and credentials.json's for
// field names.
package editdist

// Distance is the number of single-byte insertions, deletions, substitutions
// and swaps of two adjacent bytes that turn a into b, no byte being edited
// twice (the optimal string alignment distance, a restricted
// Damerau-Levenshtein): "scpoe" is one edit from "scope", as a slip of two
// fingers is one typo. It counts bytes: the names compared are ASCII, and
// anything else is far from all of them anyway.
func Distance(a, b string) int {
	// Three rows: the swap looks two rows back.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// Nearest is the name of names closest to word that is still a typo of it
// (Typos), the first of equals; "" when none is that close.
func Nearest(word string, names []string) string {
	best, bestD := "", Typos(len(word))+1
	for _, n := range names {
		if d := Distance(word, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// Typos is how many edits a word of n bytes may carry and still be a typo of
// a name: short words allow fewer, or "url" would be taken for "uuid" and
// "eu" for "us".
func Typos(n int) int {
	switch {
	case n <= 3:
		return 0
	case n <= 6:
		return 1
	}
	return 2
}
