// Package editdist is the one edit distance of tokenkeeper: the CLI's "did you
// mean" for flags and commands, and credentials.json's for field names.
package editdist

// Levenshtein is the number of single-byte insertions, deletions and
// substitutions that turn a into b. It counts bytes: the names compared are
// ASCII, and anything else is far from all of them anyway.
func Levenshtein(a, b string) int {
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
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
