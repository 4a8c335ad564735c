package messages

import "strings"

// stopper emulates stop_sequences, which the Codex backend does not take:
// it passes text through, holding back a tail that could be the start of a
// stop sequence until the next delta decides, and reports the first
// sequence that appears. The text before it is the answer; the rest is
// dropped, as Anthropic does.
type stopper struct {
	seqs []string
	held string
}

// feed returns the text that can be emitted now and, on a match, the
// sequence that matched (everything after it is discarded).
func (s *stopper) feed(text string) (out, seq string, hit bool) {
	if len(s.seqs) == 0 {
		return text, "", false
	}
	buf := s.held + text
	best := -1
	for _, q := range s.seqs {
		if i := strings.Index(buf, q); i >= 0 && (best < 0 || i < best) {
			best, seq = i, q
		}
	}
	if best >= 0 {
		s.held = ""
		return buf[:best], seq, true
	}
	keep := 0
	for _, q := range s.seqs {
		for n := min(len(q)-1, len(buf)); n > keep; n-- {
			if strings.HasSuffix(buf, q[:n]) {
				keep = n
				break
			}
		}
	}
	s.held = buf[len(buf)-keep:]
	return buf[:len(buf)-keep], "", false
}

// flush returns the held-back tail at the end of a text block.
func (s *stopper) flush() string {
	h := s.held
	s.held = ""
	return h
}
