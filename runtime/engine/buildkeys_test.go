package engine

import (
	"database/sql"
	"math"
	"testing"
	"time"
)

type myString string

// TestAppendKeyValue: a build that covers another's index builds its keys
// from its own field values (Mapper.Values) by reflection; they must be
// the bytes the generated appenders write for the same values.
func TestAppendKeyValue(t *testing.T) {
	s := "a b"
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	cases := []struct {
		v    any
		want []byte
	}{
		{int64(-7), AppendKeyInt(nil, -7)},
		{int32(7), AppendKeyInt(nil, 7)},
		{uint64(1 << 63), AppendKeyUint(nil, 1<<63)},
		{float32(0.1), AppendKeyFloat(nil, float64(float32(0.1)))},
		{math.Copysign(0, -1), AppendKeyFloat(nil, 0)},
		{true, AppendKeyBool(nil, true)},
		{"a,b!%", AppendKeyString(nil, "a,b!%")},
		{myString("x y"), AppendKeyString(nil, "x y")},
		{[]byte(nil), AppendKeyBytes(nil, nil)},
		{[]byte{}, AppendKeyBytes(nil, []byte{})},
		{[]byte{0, 'a'}, AppendKeyBytes(nil, []byte{0, 'a'})},
		{[2]byte{1, 'b'}, AppendKeyBytes(nil, []byte{1, 'b'})},
		{at, AppendKeyTime(nil, at)},
		{&s, AppendKeyString(nil, s)},
		{(*string)(nil), AppendKeyNull(nil)},
		{sql.NullString{}, AppendKeyNull(nil)},
		{sql.NullString{String: "q", Valid: true}, AppendKeyString(nil, "q")},
		{sql.NullInt64{Int64: 4, Valid: true}, AppendKeyInt(nil, 4)},
		{sql.Null[time.Time]{V: at, Valid: true}, AppendKeyTime(nil, at)},
		{nil, AppendKeyNull(nil)},
	}
	for _, c := range cases {
		got, ok := appendKeyValue(nil, c.v)
		if !ok || string(got) != string(c.want) {
			t.Errorf("%T %v: %q (%v), want %q", c.v, c.v, got, ok, c.want)
		}
	}
	for _, v := range []any{[]int{1}, struct{ A, B int }{}, map[string]int{}} {
		if _, ok := appendKeyValue(nil, v); ok {
			t.Errorf("%T: a key from a value no generated appender writes", v)
		}
	}
}

// TestBoardApply: who starts an epoch, who is dropped, and what a member
// learns of the others.
func TestBoardApply(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	ann := func(member, build string, at time.Time, bump bool, epoch string) announcement {
		return announcement{member: member, build: build, decl: []string{build + "=s"}, now: at, bump: bump, epoch: epoch,
			rec: boardMember{Deadline: at.Add(3 * time.Second).UnixMilli()}}
	}
	var b board
	if !b.apply(ann("a1", "A", now, false, "e1")) || b.Epoch != "e1" || b.Seq != 1 {
		t.Fatalf("first member: %+v", b)
	}
	if !b.apply(ann("a2", "A", now, false, "e2")) || b.Epoch != "e1" {
		t.Fatalf("a second process of a known build starts an epoch: %+v", b)
	}
	if b.apply(ann("a1", "A", now.Add(time.Second), false, "e3")) || b.Epoch != "e1" || b.Members["a1"].JoinSeq != 1 {
		t.Fatalf("a heartbeat is a join or starts an epoch: %+v", b)
	}
	if !b.apply(ann("b1", "B", now.Add(time.Second), false, "e4")) || b.Epoch != "e4" || len(b.Builds) != 2 {
		t.Fatalf("a new build joins without a new epoch: %+v", b)
	}
	if b.apply(ann("a2", "A", now.Add(time.Second), true, "e5")) || b.Epoch != "e5" {
		t.Fatalf("a bump starts no epoch: %+v", b)
	}
	// a2 and b1 lapse; a1 goes on: B stays known for the epoch.
	b.apply(ann("a1", "A", now.Add(5*time.Second), false, "e6"))
	if len(b.Members) != 1 || b.Epoch != "e5" || len(b.Builds) != 2 {
		t.Fatalf("after two members lapsed: %+v", b)
	}
	// B comes back: known in the epoch, no new one.
	if !b.apply(ann("b2", "B", now.Add(5*time.Second), false, "e7")) || b.Epoch != "e5" {
		t.Fatalf("a known build's return: %+v", b)
	}
}
