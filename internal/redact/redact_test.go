package redact

import "testing"

// What is a number and what is not, in free text: the scan masks numbers that stand alone
// and leaves everything else that carries digits.
func TestText(t *testing.T) {
	for in, want := range map[string]string{
		// masked
		"call from +4930123456 queued":            "call from ***3456 queued",
		"call from 4930123456":                    "call from ***3456",
		"From: <sip:+4930123456@10.0.0.1>;tag=1":  "From: <sip:***3456@10.0.0.1>;tag=1",
		"tel:+861012345678":                       "tel:***5678",
		"callback 07700900123, then 07700900124.": "callback ***0123, then ***0124.",
		"GET /api/v1/customers/+4930123456":       "GET /api/v1/customers/***3456",
		"lookup phone=+4930123456&x=1":            "lookup phone=***3456&x=1",
		"caller:4930123456":                       "caller:***3456",
		"customer jane.doe@example.com called":    "customer j***@example.com called",
		"mail to a@b.example.org":                 "mail to a***@b.example.org",
		"number \"+15551234567\"":                 "number \"***4567\"",
		"dial +49301234567@trunk.example failed":  "dial ***4567@trunk.example failed",
		// left alone
		"agent 1001 rang for 20s":                        "agent 1001 rang for 20s",
		"channel 1795396597.4 entered Stasis":            "channel 1795396597.4 entered Stasis",
		"call 1234567890@10.0.0.1 ended":                 "call 1234567890@10.0.0.1 ended",
		"id 3f2b1c04-12345678-9abc":                      "id 3f2b1c04-12345678-9abc",
		"uuid 12345678-1234-5678-1234-567812345678":      "uuid 12345678-1234-5678-1234-567812345678",
		"took 1.2345678s":                                "took 1.2345678s",
		"listening on 127.0.0.1:5060 and [::1]:50600":    "listening on 127.0.0.1:5060 and [::1]:50600",
		"at 2026-11-23T01:16:36.244+0000":                "at 2026-11-23T01:16:36.244+0000",
		"ssrc deadbeef12345678 and 12345678cafe":         "ssrc deadbeef12345678 and 12345678cafe",
		"Call-ID a84b4c76e66710@pc33.atlanta.com":        "Call-ID a84b4c76e66710@pc33.atlanta.com",
		"recording /recordings/1234567.wav":              "recording /recordings/1234567.wav",
		"SIP/caller-00000002 and PJSIP/trunk-0000001a":   "SIP/caller-00000002 and PJSIP/trunk-0000001a",
		"a 16-digit 1234567890123456 is no E.164 number": "a 16-digit 1234567890123456 is no E.164 number",
		"registered sip:1001@pbx.example.com":            "registered sip:1001@pbx.example.com",
		"version 1.7.2, 6 calls, 123456 bytes":           "version 1.7.2, 6 calls, 123456 bytes",
		"ws://127.0.0.1:8088/ari/events?app=hotline":     "ws://127.0.0.1:8088/ari/events?app=hotline",
		"": "",
		// credentials
		"GET ws://h:8088/ari/events?api_key=hotline%3As3cret&app=x": "GET ws://h:8088/ari/events?api_key=***&app=x",
		"connecting to postgres://hotline:pa55word@db:5432/hotline": "connecting to postgres://hotline:***@db:5432/hotline",
		"dsn host=db user=u password=pa55word sslmode=disable":      "dsn host=db user=u password=*** sslmode=disable",
		"redis://:r3dis@cache:6379/0":                               "redis://:***@cache:6379/0",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q)\n  = %q\nwant %q", in, got, want)
		}
	}
}

// A value whose key says it is a number is masked whatever it looks like; an extension and
// an address stay.
func TestNumber(t *testing.T) {
	for in, want := range map[string]string{
		"+4930123456":                   "***3456",
		"+44 20 7946 0958":              "***0958",
		"(555) 123-4567":                "***4567",
		"12345":                         "***2345",
		"sip:+4930123456@10.0.0.1:5060": "sip:***3456@10.0.0.1:5060",
		"PJSIP/+4930123456@trunk":       "PJSIP/***3456@trunk",
		"number:00493012345":            "number:00493012345", // not a scheme: could be host:port; the free scan still masks 7+
		"agent:1001":                    "agent:1001",
		"1001":                          "1001",
		"":                              "",
		"10.100.200.123":                "10.100.200.123",
		"10.0.0.1:50600":                "10.0.0.1:50600",
		"pbx.example:50600":             "pbx.example:50600",
		"anonymous":                     "anonymous",
	} {
		if got := Number(in); got != want {
			t.Errorf("Number(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEmailAndDSN(t *testing.T) {
	if got := Email("jane.doe@example.com"); got != "j***@example.com" {
		t.Errorf("Email = %q", got)
	}
	if got := Email("not an address"); got != "not an address" {
		t.Errorf("Email without @ = %q", got)
	}
	for in, want := range map[string]string{
		"postgres://hotline:p%40ss#word@db.internal:5432/hotline?sslmode=require": "postgres://hotline:***@db.internal:5432/hotline?sslmode=require",
		"postgres://hotline@db/hotline":                                           "postgres://hotline@db/hotline",
		"sqlite:data/hotline.db":                                                  "sqlite:data/hotline.db",
		"postgres://u:a@b@db/x":                                                   "postgres://u:***@db/x",
	} {
		if got := DSN(in); got != want {
			t.Errorf("DSN(%q) = %q, want %q", in, got, want)
		}
	}
}
