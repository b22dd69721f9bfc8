package prompts

import (
	"strconv"
	"strings"
	"time"
)

// Base reduces a language tag to the base this package knows how to speak:
// "en", "en-US" → "en"; "zh", "zh-CN", "cmn" → "zh". Others are returned lower-cased.
func Base(lang string) string {
	l := strings.ToLower(lang)
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	if l == "cmn" {
		return "zh"
	}
	return l
}

var enOnes = [...]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
	"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
var enTens = [...]string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}

var zhDigit = [...]string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}

// SayNumber writes n as words in lang, the way a person reads a quantity aloud:
// SayNumber("en", 1234) = "one thousand two hundred thirty-four",
// SayNumber("zh", 1234) = "一千二百三十四". Languages other than en and zh get digits,
// which espeak-ng reads in its own voice.
func SayNumber(lang string, n int64) string {
	switch Base(lang) {
	case "en":
		return enNumber(n)
	case "zh":
		return zhNumber(n)
	}
	return strconv.FormatInt(n, 10)
}

// SayDecimal is SayNumber for a number with a fractional part, read digit by digit after
// the point ("three point five", "三点五"). Whole numbers read as SayNumber.
func SayDecimal(lang string, f float64) string {
	if f < 0 {
		switch Base(lang) {
		case "en":
			return "minus " + SayDecimal(lang, -f)
		case "zh":
			return "负" + SayDecimal(lang, -f)
		}
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	whole, frac, ok := strings.Cut(s, ".")
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || len(frac) > 6 {
		return s
	}
	out := SayNumber(lang, w)
	if !ok {
		return out
	}
	switch Base(lang) {
	case "en":
		return out + " point " + SayDigits("en", frac)
	case "zh":
		var b strings.Builder
		for _, c := range frac {
			b.WriteString(zhDigit[c-'0'])
		}
		return out + "点" + b.String()
	}
	return s
}

func enNumber(n int64) string {
	if n < 0 {
		if n == -n { // math.MinInt64
			return strconv.FormatInt(n, 10)
		}
		return "minus " + enNumber(-n)
	}
	if n < 20 {
		return enOnes[n]
	}
	if n < 100 {
		s := enTens[n/10]
		if n%10 != 0 {
			s += "-" + enOnes[n%10]
		}
		return s
	}
	if n < 1000 {
		s := enOnes[n/100] + " hundred"
		if n%100 != 0 {
			s += " " + enNumber(n%100)
		}
		return s
	}
	scales := []struct {
		v    int64
		name string
	}{{1e18, "quintillion"}, {1e15, "quadrillion"}, {1e12, "trillion"}, {1e9, "billion"}, {1e6, "million"}, {1e3, "thousand"}}
	for _, sc := range scales {
		if n >= sc.v {
			s := enNumber(n/sc.v) + " " + sc.name
			if n%sc.v != 0 {
				s += " " + enNumber(n%sc.v)
			}
			return s
		}
	}
	return strconv.FormatInt(n, 10)
}

// zhNumber reads n in Mandarin: 10 十, 12 十二, 105 一百零五, 2000 两千, 10001 一万零一.
func zhNumber(n int64) string {
	if n < 0 {
		if n == -n {
			return strconv.FormatInt(n, 10)
		}
		return "负" + zhNumber(-n)
	}
	if n == 0 {
		return "零"
	}
	// groups of four digits: 个, 万, 亿, 万亿 (兆 is ambiguous; 万亿 is what people say)
	units := []string{"", "万", "亿", "万亿", "亿亿"}
	var groups []int64
	for v := n; v > 0; v /= 10000 {
		groups = append(groups, v%10000)
	}
	var b strings.Builder
	zeroPending := false
	for i := len(groups) - 1; i >= 0; i-- {
		g := groups[i]
		if g == 0 {
			zeroPending = b.Len() > 0
			continue
		}
		if b.Len() > 0 && (zeroPending || g < 1000) {
			b.WriteString("零")
		}
		zeroPending = false
		b.WriteString(zhGroup(g, b.Len() == 0, i > 0))
		b.WriteString(units[i])
	}
	return b.String()
}

// zhGroup reads 1..9999. first says whether it opens the number (12 → 十二, not 一十二);
// big says a unit 万 or 亿 follows (2 → 两万).
func zhGroup(g int64, first, big bool) string {
	digits := [4]int64{g / 1000, g / 100 % 10, g / 10 % 10, g % 10}
	names := [4]string{"千", "百", "十", ""}
	var b strings.Builder
	started, zero := false, false
	for i, d := range digits {
		if d == 0 {
			if started {
				zero = true
			}
			continue
		}
		if zero {
			b.WriteString("零")
			zero = false
		}
		switch {
		case i == 2 && d == 1 && !started && first:
			// 十, 十二: a leading one before 十 is not said
		case d == 2 && i < 2 && !started:
			b.WriteString("两") // 两千, 两百
		case d == 2 && i == 3 && !started && big && g == 2:
			b.WriteString("两") // 两万, 两亿
		default:
			b.WriteString(zhDigit[d])
		}
		b.WriteString(names[i])
		started = true
	}
	return b.String()
}

// SayDigits reads a string of digits one by one, as people read phone, account and ticket
// numbers: SayDigits("en", "1024#") = "one zero two four pound", SayDigits("zh", "110") =
// "幺 幺 零" (in Mandarin a 1 in a number read digit by digit is 幺, so it is not heard as 7).
// Characters that are not digits, *, # or + are kept as they are.
func SayDigits(lang string, s string) string {
	base := Base(lang)
	var words []string
	for _, c := range s {
		var w string
		switch base {
		case "en":
			switch {
			case c >= '0' && c <= '9':
				w = enOnes[c-'0']
			case c == '*':
				w = "star"
			case c == '#':
				w = "pound"
			case c == '+':
				w = "plus"
			}
		case "zh":
			switch {
			case c == '1':
				w = "幺"
			case c >= '0' && c <= '9':
				w = zhDigit[c-'0']
			case c == '*':
				w = "星号"
			case c == '#':
				w = "井号"
			case c == '+':
				w = "加"
			}
		default:
			if c >= '0' && c <= '9' || c == '*' || c == '#' || c == '+' {
				w = string(c)
			}
		}
		if w == "" {
			if c == ' ' || c == '-' {
				continue
			}
			w = string(c)
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// SayDuration reads a duration the way a wait is announced: under a minute in seconds,
// under an hour in whole minutes (rounded up), otherwise hours and minutes.
// SayDuration("en", 3*time.Minute) = "three minutes"; SayDuration("zh", 2*time.Minute) = "两分钟".
func SayDuration(lang string, d time.Duration) string {
	if d < 0 {
		d = -d
	}
	sec := int64((d + time.Second - 1) / time.Second)
	if sec < 60 {
		return quantity(lang, sec, unitSecond)
	}
	if d < time.Hour {
		min := (sec + 59) / 60
		if min < 60 {
			return quantity(lang, min, unitMinute)
		}
		sec = 3600
	}
	h, m := sec/3600, (sec%3600+59)/60
	if m == 60 {
		h, m = h+1, 0
	}
	hs := quantity(lang, h, unitHour)
	if m == 0 {
		return hs
	}
	switch Base(lang) {
	case "en":
		return hs + " and " + quantity(lang, m, unitMinute)
	case "zh":
		return hs + quantity(lang, m, unitMinute)
	}
	return hs + " " + quantity(lang, m, unitMinute)
}

type unit int

const (
	unitSecond unit = iota
	unitMinute
	unitHour
)

func quantity(lang string, n int64, u unit) string {
	switch Base(lang) {
	case "en":
		name := [...]string{"second", "minute", "hour"}[u]
		if n != 1 {
			name += "s"
		}
		return enNumber(n) + " " + name
	case "zh":
		name := [...]string{"秒", "分钟", "个小时"}[u]
		if n == 2 {
			return "两" + name
		}
		return zhNumber(n) + name
	}
	return strconv.FormatInt(n, 10) + [...]string{"s", "min", "h"}[u]
}

// SayOrdinal reads a position: "third" in English is awkward for a TTS, so English says
// "number three"; Mandarin says 第三.
func SayOrdinal(lang string, n int64) string {
	switch Base(lang) {
	case "en":
		return "number " + enNumber(n)
	case "zh":
		s := zhNumber(n)
		if n == 2 {
			s = "二" // 第二, never 第两
		}
		return "第" + s
	}
	return "#" + strconv.FormatInt(n, 10)
}

// PositionAnnouncement is what a caller waiting in a queue hears: their place in line and,
// when wait > 0, the estimated wait. position 1 means they are next.
//
//	en: "You are number three in line. Your estimated wait is about two minutes."
//	zh: "您现在排在第三位，预计等待约两分钟。"
func PositionAnnouncement(lang string, position int, wait time.Duration) string {
	return ShippedTexts().Position(lang, position, wait)
}
