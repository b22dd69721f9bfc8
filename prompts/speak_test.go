package prompts

import (
	"testing"
	"time"
)

func TestSayNumber(t *testing.T) {
	cases := []struct {
		lang string
		n    int64
		want string
	}{
		{"en", 0, "zero"},
		{"en", 7, "seven"},
		{"en", 15, "fifteen"},
		{"en", 21, "twenty-one"},
		{"en", 100, "one hundred"},
		{"en", 105, "one hundred five"},
		{"en", 1234, "one thousand two hundred thirty-four"},
		{"en", 2000000, "two million"},
		{"en", -3, "minus three"},
		{"en-US", 40, "forty"},
		{"zh", 0, "零"},
		{"zh", 2, "二"},
		{"zh", 10, "十"},
		{"zh", 12, "十二"},
		{"zh", 20, "二十"},
		{"zh", 105, "一百零五"},
		{"zh", 110, "一百一十"},
		{"zh", 200, "两百"},
		{"zh", 1001, "一千零一"},
		{"zh", 1234, "一千二百三十四"},
		{"zh", 2000, "两千"},
		{"zh", 10000, "一万"},
		{"zh", 10001, "一万零一"},
		{"zh", 20000, "两万"},
		{"zh", 100010, "十万零一十"},
		{"zh", 1000000, "一百万"},
		{"zh", 220000, "二十二万"},
		{"zh", 100000000, "一亿"},
		{"zh", 300050000, "三亿零五万"},
		{"zh-CN", -5, "负五"},
		{"cmn", 3, "三"},
		{"fr", 42, "42"},
	}
	for _, c := range cases {
		if got := SayNumber(c.lang, c.n); got != c.want {
			t.Errorf("SayNumber(%q, %d) = %q, want %q", c.lang, c.n, got, c.want)
		}
	}
}

func TestSayDecimal(t *testing.T) {
	for _, c := range []struct {
		lang string
		f    float64
		want string
	}{
		{"en", 3.5, "three point five"},
		{"zh", 3.5, "三点五"},
		{"en", 12, "twelve"},
		{"en", -0.25, "minus zero point two five"},
	} {
		if got := SayDecimal(c.lang, c.f); got != c.want {
			t.Errorf("SayDecimal(%q, %v) = %q, want %q", c.lang, c.f, got, c.want)
		}
	}
}

func TestSayDigitsReadsOneByOne(t *testing.T) {
	for _, c := range []struct{ lang, in, want string }{
		{"en", "1024", "one zero two four"},
		{"en", "*9#", "star nine pound"},
		{"zh", "110", "幺 幺 零"},
		{"zh", "+86 138", "加 八 六 幺 三 八"},
		{"en", "T-12", "T one two"},
	} {
		if got := SayDigits(c.lang, c.in); got != c.want {
			t.Errorf("SayDigits(%q, %q) = %q, want %q", c.lang, c.in, got, c.want)
		}
	}
}

func TestSayDuration(t *testing.T) {
	for _, c := range []struct {
		lang string
		d    time.Duration
		want string
	}{
		{"en", 30 * time.Second, "thirty seconds"},
		{"en", time.Second, "one second"},
		{"en", 61 * time.Second, "two minutes"},
		{"en", 3 * time.Minute, "three minutes"},
		{"en", time.Minute, "one minute"},
		{"en", time.Hour + 5*time.Minute, "one hour and five minutes"},
		{"en", 2 * time.Hour, "two hours"},
		{"en", 59*time.Minute + 30*time.Second, "one hour"},
		{"zh", 30 * time.Second, "三十秒"},
		{"zh", 2 * time.Minute, "两分钟"},
		{"zh", 3 * time.Minute, "三分钟"},
		{"zh", 12 * time.Minute, "十二分钟"},
		{"zh", time.Hour + 5*time.Minute, "一个小时五分钟"},
		{"zh", 2 * time.Hour, "两个小时"},
	} {
		if got := SayDuration(c.lang, c.d); got != c.want {
			t.Errorf("SayDuration(%q, %v) = %q, want %q", c.lang, c.d, got, c.want)
		}
	}
}

func TestPositionAnnouncement(t *testing.T) {
	for _, c := range []struct {
		lang     string
		position int
		wait     time.Duration
		want     string
	}{
		{"en", 3, 2 * time.Minute, "You are number three in line. Your estimated wait is about two minutes."},
		{"en", 1, 0, "You are next in line."},
		{"zh", 3, 2 * time.Minute, "您现在排在第三位，预计等待约两分钟。"},
		{"zh", 2, 0, "您现在排在第二位。"},
		{"zh", 1, 40 * time.Second, "您是下一位，预计等待约四十秒。"},
	} {
		if got := PositionAnnouncement(c.lang, c.position, c.wait); got != c.want {
			t.Errorf("PositionAnnouncement(%q, %d, %v) = %q, want %q", c.lang, c.position, c.wait, got, c.want)
		}
	}
}
