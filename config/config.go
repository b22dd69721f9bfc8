// Package config is hotline's one YAML configuration file: its schema, defaults that make
// `hotline serve` work with no file at all, and errors that name the key and line.
// It holds plain data that the wiring (center) maps onto each package's own options; it must
// not start anything, and no package but the wiring and the command should need it.
package config

import (
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/schedule"
)

// Config is the whole file. Every key is documented in hotline.sample.yaml.
type Config struct {
	Driver      string                       `yaml:"driver"`   // native | ari
	DataDir     string                       `yaml:"data_dir"` // database, recordings, prompt cache
	Log         Log                          `yaml:"log"`
	SIP         SIP                          `yaml:"sip"`
	HTTP        HTTP                         `yaml:"http"`
	ARI         ARI                          `yaml:"ari"`
	Prompts     Prompts                      `yaml:"prompts"`
	Flows       Flows                        `yaml:"flows"`
	Schedules   map[string]schedule.Schedule `yaml:"schedules"`
	Queues      []Queue                      `yaml:"queues"`
	Agents      []Agent                      `yaml:"agents"`
	Supervisors []Supervisor                 `yaml:"supervisors"`
	Monitoring  Monitoring                   `yaml:"monitoring"`
	ACD         ACD                          `yaml:"acd"`
	Store       Store                        `yaml:"store"`
	Redis       Redis                        `yaml:"redis"`
	Cluster     Cluster                      `yaml:"cluster"`
	Recordings  Recordings                   `yaml:"recordings"`
	Callbacks   Callbacks                    `yaml:"callbacks"`
	Webhooks    Webhooks                     `yaml:"webhooks"`
	Transfer    Transfer                     `yaml:"transfer"`
	Desk        Desk                         `yaml:"desk"`
	Media       Media                        `yaml:"media"`
	Worklist    Worklist                     `yaml:"worklist"`
}

// Worklist is the missed-contact worklist (docs/supervisors.md).
type Worklist struct {
	DueWithin Duration `yaml:"due_within"` // a missed contact's item is due this long after it was missed (default 4h)
}

type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
	// FullNumbers logs callers' and customers' phone numbers in full, for debugging; off,
	// they show as their last four digits (***3456). E-mail addresses, secrets and DTMF digits
	// stay masked either way. hotline warns at start-up while it is on.
	FullNumbers bool `yaml:"full_numbers"`
}

type SIP struct {
	Addr        string   `yaml:"addr"`         // host:port for UDP and TCP
	Transports  []string `yaml:"transports"`   // udp, tcp, tls
	TLS         SIPTLS   `yaml:"tls"`          // SIP over TLS: certificate and listener
	PublicAddr  string   `yaml:"public_addr"`  // IP advertised in Contact and SDP; default: the listen IP
	Realm       string   `yaml:"realm"`        // digest realm
	UserAgent   string   `yaml:"user_agent"`   // User-Agent / Server header
	RTPPortMin  int      `yaml:"rtp_port_min"` // 0 with rtp_port_max 0 = any free port
	RTPPortMax  int      `yaml:"rtp_port_max"` //
	RTPTimeout  Duration `yaml:"rtp_timeout"`  // hang up a call after this long without RTP (0 = never)
	RingTimeout Duration `yaml:"ring_timeout"` // default ring time for outbound calls
	Codecs      []string `yaml:"codecs"`       // PCMU, PCMA in order of preference
	NonceTTL    Duration `yaml:"nonce_ttl"`    // digest nonce lifetime
	// TransactionLinger is how long a completed SIP transaction stays to absorb
	// retransmissions (RFC 3261 Timers J and L, RFC 6026 Timer M; 64*T1 = 32 s in the RFCs)
	TransactionLinger Duration  `yaml:"transaction_linger"`
	MinExpires        int       `yaml:"min_expires"`   // REGISTER Expires floor (423 below it)
	MaxExpires        int       `yaml:"max_expires"`   // REGISTER Expires ceiling
	Trunk             string    `yaml:"trunk"`         // host:port where outbound numbers are sent ("" = refuse numbers)
	NAT               string    `yaml:"nat"`           // auto, force, off: how requests reach phones behind NAT
	SymmetricRTP      bool      `yaml:"symmetric_rtp"` // send RTP to where the peer's RTP comes from
	DefaultEntry      string    `yaml:"default_entry"` // flow for calls whose dialed number matches no flow
	Auth              SIPAuth   `yaml:"auth"`          // digest brute-force lockout (security.go)
	Limits            SIPLimits `yaml:"limits"`        // admission control: config/limits.go
}

type HTTP struct {
	Addr      string `yaml:"addr"`       // host:port of the dashboard, API and /metrics
	PublicURL string `yaml:"public_url"` // base URL printed in login links; default http://<addr>
}

type ARI struct {
	URL           string   `yaml:"url"`            // e.g. http://127.0.0.1:8088/ari
	Username      string   `yaml:"username"`       //
	Password      string   `yaml:"password"`       //
	App           string   `yaml:"app"`            // Stasis application name
	SoundsDir     string   `yaml:"sounds_dir"`     // directory shared with Asterisk for prompts
	Endpoint      string   `yaml:"endpoint"`       // agent endpoint template, %s = agent id
	TrunkEndpoint string   `yaml:"trunk_endpoint"` // endpoint template for numbers (callbacks), e.g. PJSIP/%s@trunk
	Reconnect     Duration `yaml:"reconnect"`      // max backoff between WebSocket reconnects
}

type Prompts struct {
	Dir      string            `yaml:"dir"`       // extra prompt files; names here override the shipped ones
	CacheDir string            `yaml:"cache_dir"` // where say: text is rendered; default <data_dir>/say-cache
	Espeak   string            `yaml:"espeak"`    // espeak-ng binary
	Voices   map[string]string `yaml:"voices"`    // language -> espeak-ng voice
}

type Flows struct {
	Dir    string            `yaml:"dir"`    // flow files; "" = the shipped flows
	Entry  string            `yaml:"entry"`  // flow for inbound calls
	Routes map[string]string `yaml:"routes"` // dialed number -> flow
	Reload bool              `yaml:"reload"` // watch files and hot-reload
}

type Queue struct {
	Name                 string         `yaml:"name"`
	Strategy             string         `yaml:"strategy"` // longest-idle, round-robin, fewest-calls, least-talk-time, random, ring-all, skills
	Skills               []string       `yaml:"skills"`   // required skills
	MaxWait              Duration       `yaml:"max_wait"`
	ServiceLevel         Duration       `yaml:"service_level"`  // target answer time T
	ShortAbandon         Duration       `yaml:"short_abandon"`  // abandons faster than this are not counted against SL
	OverflowAfter        Duration       `yaml:"overflow_after"` //
	OverflowTo           string         `yaml:"overflow_to"`    //
	RingTimeout          Duration       `yaml:"ring_timeout"`
	WrapUp               Duration       `yaml:"wrap_up"`
	AnnounceEvery        Duration       `yaml:"announce_every"`
	MusicOnHold          string         `yaml:"music_on_hold"` // prompt name
	CallbackAfter        Duration       `yaml:"callback_after"`
	AutoCallbackAbandons bool           `yaml:"auto_callback_abandons"`
	Priority             []PriorityRule `yaml:"priority"`
	Schedule             string         `yaml:"schedule"`             // opening hours for callbacks
	Extension            string         `yaml:"extension"`            // short number agents transfer callers to this queue with
	TransferNewArrival   bool           `yaml:"transfer_new_arrival"` // a caller transferred here joins at the back, not with their original arrival
	Recording            QueueRecording `yaml:"recording"`            // conversation recording of this queue's calls
	// Dispositions are the codes an agent picks from in the wrap-up form after this queue's
	// calls (e.g. resolved, follow-up); none = the form takes a note only.
	Dispositions []string `yaml:"dispositions"`
}

// QueueRecording is a queue's conversation recording policy.
type QueueRecording struct {
	Policy string `yaml:"policy"` // never | always | on_demand
	// Consent plays an announcement to the caller as they join the queue, before any agent
	// is connected (the text recording_consent in the call's language, or ConsentPrompt).
	Consent       *bool  `yaml:"consent"`        // default: on when the policy records
	ConsentPrompt string `yaml:"consent_prompt"` // a prompt name replacing the text
	RetainDays    int    `yaml:"retain_days"`    // 0 = recordings.retention_days
}

// Recording policies.
const (
	RecordNever    = "never"
	RecordAlways   = "always"
	RecordOnDemand = "on_demand"
)

// RecordPolicy is the queue's policy, never when unset.
func (r QueueRecording) RecordPolicy() string {
	if r.Policy == "" {
		return RecordNever
	}
	return r.Policy
}

// AnnounceConsent says whether callers joining the queue hear the consent announcement.
func (r QueueRecording) AnnounceConsent() bool {
	if r.RecordPolicy() == RecordNever {
		return false
	}
	return r.Consent == nil || *r.Consent
}

// Supervisor is a supervisor's phone identity: a softphone that registers with it (digest)
// is what hotline calls when the supervisor listens to, whispers to or barges into a call.
type Supervisor struct {
	ID       string `yaml:"id"`       // SIP user name, e.g. 9001
	Name     string `yaml:"name"`     //
	Password string `yaml:"password"` // SIP digest password
}

// Monitoring is how supervisors monitor calls.
type Monitoring struct {
	ShowToAgents *bool `yaml:"show_to_agents"` // the agent sees that their call is monitored (default on)
}

// Visible says whether agents see that they are monitored.
func (m Monitoring) Visible() bool { return m.ShowToAgents == nil || *m.ShowToAgents }

// PriorityRule sets a caller's priority: When (an expression over the flow's variables,
// checked as the caller joins) or After (once the caller has waited this long: aging).
type PriorityRule struct {
	When     string   `yaml:"when"`  // e.g. vip == true
	After    Duration `yaml:"after"` // e.g. 5m
	Priority int      `yaml:"priority"`
	// WhenAt is where When starts in the file (set by Parse), for errors at file:line:col.
	WhenAt Position `yaml:"-"`
}

// Position is a place in the configuration file: 1-based line and column (in characters).
type Position struct {
	File      string
	Line, Col int
}

type Agent struct {
	ID        string         `yaml:"id"`
	Name      string         `yaml:"name"`
	Password  string         `yaml:"password"` // SIP digest password
	Skills    map[string]int `yaml:"skills"`   // skill -> proficiency 1..5
	Queues    []string       `yaml:"queues"`
	AutoLogin bool           `yaml:"auto_login"`
	SRTP      string         `yaml:"srtp"` // this agent's calls: off | optional | required; "" = media.srtp
}

type ACD struct {
	MaxMisses int `yaml:"max_misses"` // pause an agent after this many consecutive missed offers
}

type Store struct {
	DSN string `yaml:"dsn"` // "" = SQLite in data_dir; postgres://... for PostgreSQL
}

type Redis struct {
	Addr string `yaml:"addr"` // "" = in-process rate limits (and no shared ACD)
}

// Cluster is how this node takes part in a contact center of several nodes
// (docs/architecture.md, "Several nodes").
type Cluster struct {
	// Node names this node on the contacts it opens, in logs and in the shared state; it
	// must differ between nodes (default: the host name).
	Node string `yaml:"node"`
	// Shared keeps the distributor's state (queues, agents, every routing decision) in Redis
	// (redis.addr), so every node with the same queues, agents and store serves one contact
	// center. It needs redis.addr and a PostgreSQL store.dsn. Off: this node's own
	// distributor in memory, the default for one node.
	Shared bool `yaml:"shared"`
	// Prefix is the prefix of the shared state's Redis keys; nodes of one site use the same
	// (default "hotline"), several sites on one Redis each their own.
	Prefix string `yaml:"prefix"`
	// DeadAfter is how long a node may stay silent before the others end its calls and take
	// over its callbacks (default 3s).
	DeadAfter Duration `yaml:"dead_after"`
}

type Recordings struct {
	Dir           string `yaml:"dir"` // default <data_dir>/recordings
	RetentionDays int    `yaml:"retention_days"`
}

type Callbacks struct {
	DefaultRegion   string   `yaml:"default_region"`   // for numbers without +, e.g. CN
	AllowedPrefixes []string `yaml:"allowed_prefixes"` // E.164 prefixes, e.g. +86
	DeniedPrefixes  []string `yaml:"denied_prefixes"`  // premium-rate ranges etc.
	PerNumberLimit  string   `yaml:"per_number_limit"` // e.g. 3/h
	PerCallerLimit  string   `yaml:"per_caller_limit"` // e.g. 10/d
	MaxAttempts     int      `yaml:"max_attempts"`
	RetryBackoff    Duration `yaml:"retry_backoff"`
}

type Webhooks struct {
	URL     string   `yaml:"url"`
	Secret  string   `yaml:"secret"` // HMAC-SHA256 key
	Timeout Duration `yaml:"timeout"`
}

type Transfer struct {
	Allowed []string `yaml:"allowed"` // SIP URI or number prefixes a flow may transfer to
}

// Default is the configuration used when no file is given.
func Default() Config {
	return Config{
		Driver:  "native",
		DataDir: "data",
		Log:     Log{Level: "info", Format: "text"},
		SIP: SIP{
			Addr: "127.0.0.1:5060", Transports: []string{"udp", "tcp"}, Realm: "hotline",
			UserAgent: "hotline", RTPTimeout: Duration(30 * time.Second),
			RingTimeout: Duration(20 * time.Second), Codecs: []string{"PCMU", "PCMA"},
			NonceTTL: Duration(5 * time.Minute), TransactionLinger: Duration(5 * time.Second), MinExpires: 60, MaxExpires: 3600,
			NAT: "auto", SymmetricRTP: true,
		},
		Media:   Media{SRTP: "optional"},
		HTTP:    HTTP{Addr: "127.0.0.1:8080"},
		ARI:     ARI{App: "hotline", Endpoint: "PJSIP/%s", Reconnect: Duration(30 * time.Second)},
		Prompts: Prompts{Espeak: "espeak-ng", Voices: map[string]string{"en": "en-us", "zh": "cmn-latn-pinyin"}},
		Flows:   Flows{Entry: "hotline", Reload: true},
		ACD:     ACD{MaxMisses: 2},
		Callbacks: Callbacks{
			PerNumberLimit: "3/h", PerCallerLimit: "10/d", MaxAttempts: 3,
			RetryBackoff: Duration(10 * time.Minute),
		},
		Webhooks: Webhooks{Timeout: Duration(10 * time.Second)},
		Cluster:  Cluster{Prefix: "hotline", DeadAfter: Duration(3 * time.Second)},
	}
}

// Duration is a time.Duration written as "20s", "5m", "1h30m" in YAML.
type Duration time.Duration

func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (write it like 20s, 5m or 1h30m)", b)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", b)
	}
	*d = Duration(v)
	return nil
}
