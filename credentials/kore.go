package credentials

// kore is KORE Wireless (its row in Presets: one token URL, the
// client-credentials grant): its own answers are read by RFC 6749's tables, and
// setup asks for its client only.
type kore struct{ Standard }

func (kore) Questions() []Question {
	return []Question{{"appID", "client ID"}, {"clientSecret", "client secret"}}
}
