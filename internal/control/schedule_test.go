package control

import (
	"testing"
	"time"

	"github.com/stratolab/stratolab/internal/controlapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Europe/Berlin leaves summer time on 2026-10-25 (03:00 CEST -> 02:00 CET) and enters it on
// 2026-03-29 (02:00 CET -> 03:00 CEST); America/New_York enters it on 2026-03-08. The local time
// stays put, so the UTC time moves by an hour across each change.
func TestScheduleNextAcrossDaylightSavingChanges(t *testing.T) {
	weekdays := []string{"mon", "tue", "wed", "thu", "fri"}
	hold := &controlapi.Hold{Until: utc("2026-03-31T12:00:00Z"), By: "bob"}
	cases := []struct {
		name      string
		sched     Schedule
		action    controlapi.Action
		after     string
		hold      *controlapi.Hold
		want      string
		wantFound bool
	}{
		{"start before the spring change is at 07:00 UTC", Schedule{Timezone: "Europe/Berlin", Start: "08:00", Days: weekdays}, controlapi.Start, "2026-03-26T08:00:00Z", nil, "2026-03-27T07:00:00Z", true},
		{"first start after the spring change is at 06:00 UTC, past the weekend", Schedule{Timezone: "Europe/Berlin", Start: "08:00", Days: weekdays}, controlapi.Start, "2026-03-27T08:00:00Z", nil, "2026-03-30T06:00:00Z", true},
		{"autumn change: stop at 19:00 moves from 17:00 to 18:00 UTC", Schedule{Timezone: "Europe/Berlin", Stop: "19:00", Days: weekdays}, controlapi.Stop, "2026-10-23T18:00:00Z", nil, "2026-10-26T18:00:00Z", true},
		{"a time in the spring-forward gap (02:30) is taken an hour later", Schedule{Timezone: "Europe/Berlin", Start: "02:30", Days: []string{"sun"}}, controlapi.Start, "2026-03-28T12:00:00Z", nil, "2026-03-29T01:30:00Z", true},
		{"New York changes three weeks earlier", Schedule{Timezone: "America/New_York", Start: "08:00", Days: weekdays}, controlapi.Start, "2026-03-06T14:00:00Z", nil, "2026-03-09T12:00:00Z", true},
		{"skip dates are local dates", Schedule{Timezone: "Europe/Berlin", Start: "08:00", Days: weekdays, SkipDates: []string{"2026-12-24", "2026-12-25"}}, controlapi.Start, "2026-12-23T12:00:00Z", nil, "2026-12-28T07:00:00Z", true},
		{"skip dates do not skip stops", Schedule{Timezone: "Europe/Berlin", Stop: "19:00", Days: weekdays, SkipDates: []string{"2026-12-24"}}, controlapi.Stop, "2026-12-23T19:00:00Z", nil, "2026-12-24T18:00:00Z", true},
		{"a hold suspends starts until it ends", Schedule{Timezone: "Europe/Berlin", Start: "08:00", Days: weekdays}, controlapi.Start, "2026-03-26T12:00:00Z", hold, "2026-04-01T06:00:00Z", true},
		{"an overnight stop runs the morning after each start day", Schedule{Timezone: "Europe/Berlin", Start: "20:00", Stop: "06:00", Overnight: true, Days: []string{"fri"}}, controlapi.Stop, "2026-12-04T12:00:00Z", nil, "2026-12-05T05:00:00Z", true},
		{"a stop-only schedule has no start", Schedule{Timezone: "UTC", Stop: "19:00", Days: weekdays}, controlapi.Start, "2026-12-04T12:00:00Z", nil, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := c.sched.Next(c.action, utc(c.after), c.hold)
			require.Equal(t, c.wantFound, ok)
			if ok {
				assert.Equal(t, utc(c.want), got)
			}
		})
	}
}

func TestSkippedUsesTheLocalDateOfTheFiringTime(t *testing.T) {
	s := Schedule{Timezone: "Europe/Berlin", Start: "00:30", Days: Weekdays, SkipDates: []string{"2026-10-25"}}
	// 2026-10-24T22:30Z is already 00:30 on the 25th in Berlin (CEST, UTC+2).
	assert.Equal(t, "skip date 2026-10-25", s.Skipped(controlapi.Start, utc("2026-10-24T22:30:00Z"), nil))
	// After the change (CET, UTC+1) 00:30 on the 26th is 23:30Z on the 25th: not skipped.
	assert.Equal(t, "", s.Skipped(controlapi.Start, utc("2026-10-25T23:30:00Z"), nil))
	h := &controlapi.Hold{Until: utc("2026-10-26T00:00:00Z"), By: "bob"}
	assert.Contains(t, s.Skipped(controlapi.Stop, utc("2026-10-25T23:30:00Z"), h), "held until 2026-10-26T00:00:00Z by bob")
	assert.Equal(t, "", s.Skipped(controlapi.Stop, utc("2026-10-26T00:00:00Z"), h), "a hold ends at its until")
}

func TestCronExpressions(t *testing.T) {
	days, err := ExpandDays([]string{"mon-fri"})
	require.NoError(t, err)
	s := Schedule{Timezone: "Europe/Berlin", Start: "08:05", Stop: "19:00", Days: days}
	c, err := s.Cron(false)
	require.NoError(t, err)
	// EventBridge Scheduler cron: minutes hours day-of-month month day-of-week year, with ? in one day field.
	assert.Equal(t, "cron(5 8 ? * MON,TUE,WED,THU,FRI *)", c)
	s.Overnight, s.Days = true, []string{"fri", "sun"}
	c, _ = s.Cron(true)
	assert.Equal(t, "cron(0 19 ? * MON,SAT *)", c, "an overnight stop runs the day after")
	s.Days = Weekdays
	c, _ = s.Cron(false)
	assert.Equal(t, "cron(5 8 ? * * *)", c)
	_, err = ExpandDays([]string{"fri-mon"})
	assert.Error(t, err)
	_, err = ExpandDays([]string{"monday"})
	assert.Error(t, err)
}
