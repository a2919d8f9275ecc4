package control

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the Lambda runtime has no zoneinfo; the schedule's time zone must resolve everywhere

	"github.com/stratolab/stratolab/internal/controlapi"
)

// Weekdays in week order, as the config and Days write them.
var Weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

func weekday(t time.Time) string { return Weekdays[(int(t.Weekday())+6)%7] }

// ExpandDays turns mon-fri style ranges into days in week order; an unknown day is an error.
func ExpandDays(items []string) ([]string, error) {
	set := map[string]bool{}
	for _, it := range items {
		a, b, isRange := strings.Cut(it, "-")
		i, j := slices.Index(Weekdays, a), slices.Index(Weekdays, b)
		switch {
		case !isRange && i >= 0:
			set[a] = true
		case isRange && i >= 0 && j >= i:
			for _, d := range Weekdays[i : j+1] {
				set[d] = true
			}
		default:
			return nil, fmt.Errorf("%q is not a day or a range of days (mon..sun, or mon-fri with the first day before the last)", it)
		}
	}
	var out []string
	for _, d := range Weekdays {
		if set[d] {
			out = append(out, d)
		}
	}
	return out, nil
}

// ParseClock parses HH:MM (00:00 to 23:59).
func ParseClock(s string) (h, m int, err error) {
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) != 2 || len(ms) != 2 {
		return 0, 0, fmt.Errorf("%q is not HH:MM", s)
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, 0, fmt.Errorf("%q is not a time of day (00:00 to 23:59)", s)
	}
	return h, m, nil
}

// CronDays is the day-of-week field of an EventBridge Scheduler cron expression for days, shifted by
// one day when shift is set (an overnight stop runs the morning after each start day).
func CronDays(days []string, shift bool) string {
	if len(days) == 7 {
		return "*"
	}
	out := make([]string, len(days))
	for i, d := range days {
		k := slices.Index(Weekdays, d)
		if shift {
			k = (k + 1) % 7
		}
		out[i] = strings.ToUpper(Weekdays[k])
	}
	// Week order again after a shift (sun+1 is MON).
	slices.SortFunc(out, func(a, b string) int {
		return slices.Index(Weekdays, strings.ToLower(a)) - slices.Index(Weekdays, strings.ToLower(b))
	})
	return strings.Join(out, ",")
}

// Cron is the Scheduler expression for the schedule's start (stop false) or stop, such as
// cron(0 8 ? * MON,TUE,WED,THU,FRI *). Scheduler evaluates it in the schedule's time zone.
func (s *Schedule) Cron(stop bool) (string, error) {
	at := s.Start
	if stop {
		at = s.Stop
	}
	h, m, err := ParseClock(at)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("cron(%d %d ? * %s *)", m, h, CronDays(s.Days, stop && s.Overnight)), nil
}

func (s *Schedule) location() (*time.Location, error) {
	if s.Timezone == "" || s.Timezone == "Local" {
		return nil, fmt.Errorf("time zone %q is not an IANA time zone name", s.Timezone)
	}
	return time.LoadLocation(s.Timezone)
}

// runsOn reports whether the schedule's action fires on local date d (a midnight in loc).
func (s *Schedule) runsOn(action controlapi.Action, d time.Time) bool {
	if action == controlapi.Stop && s.Overnight {
		d = d.AddDate(0, 0, -1)
	}
	return slices.Contains(s.Days, weekday(d))
}

// Skipped says why a scheduled action firing at t does nothing: a hold in force at t (holds suspend
// both actions), or, for a start, t's local date being a skip date. "" means it runs.
func (s *Schedule) Skipped(action controlapi.Action, t time.Time, hold *controlapi.Hold) string {
	if hold != nil && t.Before(hold.Until) {
		msg := "held until " + hold.Until.UTC().Format(time.RFC3339) + " by " + hold.By
		if hold.Reason != "" {
			msg += " (" + hold.Reason + ")"
		}
		return msg
	}
	if action == controlapi.Start {
		loc, err := s.location()
		if err != nil {
			return ""
		}
		if date := t.In(loc).Format("2006-01-02"); slices.Contains(s.SkipDates, date) {
			return "skip date " + date
		}
	}
	return ""
}

// Next is the first time after after at which the schedule's action will really run (past skip
// dates and the hold); ok is false when the schedule has no such action or none within a year.
// Local times are resolved in the schedule's time zone on each day, so a daylight saving change
// moves the UTC time, not the local one; a local time that does not exist that day (in a spring-forward
// gap) is taken as Go normalizes it, that much later.
func (s *Schedule) Next(action controlapi.Action, after time.Time, hold *controlapi.Hold) (time.Time, bool) {
	at := s.Start
	if action == controlapi.Stop {
		at = s.Stop
	}
	if at == "" {
		return time.Time{}, false
	}
	h, m, err := ParseClock(at)
	if err != nil {
		return time.Time{}, false
	}
	loc, err := s.location()
	if err != nil {
		return time.Time{}, false
	}
	local := after.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	for i := 0; i < 400; i++ {
		d := time.Date(day.Year(), day.Month(), day.Day()+i, 0, 0, 0, 0, loc)
		if !s.runsOn(action, d) {
			continue
		}
		t := time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, loc)
		if !t.After(after) || s.Skipped(action, t, hold) != "" {
			continue
		}
		return t.UTC(), true
	}
	return time.Time{}, false
}
