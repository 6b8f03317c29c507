package main

import (
	"reflect"
	"testing"
)

func TestSendListSet(t *testing.T) {
	cases := []struct {
		in   string
		want send
	}{
		{"15@0", send{Sig: 15, AtUs: 0, Count: 1}},
		{"10@2500x100", send{Sig: 10, AtUs: 2500, Count: 100}},
		{"10@1000x1000/1000", send{Sig: 10, AtUs: 1000, Count: 1000, IntervalUs: 1000}},
		{"64@1x1/0", send{Sig: 64, AtUs: 1, Count: 1}},
	}
	for _, c := range cases {
		var l sendList
		if err := l.Set(c.in); err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if !reflect.DeepEqual(l, sendList{c.want}) {
			t.Errorf("%s: got %+v, want %+v", c.in, l, c.want)
		}
	}
}

func TestSendListRejects(t *testing.T) {
	for _, in := range []string{"", "15", "x@1", "0@1", "65@1", "15@-1", "15@1x0", "15@1x2/-5", "15@1xz", "15@1x2/q"} {
		var l sendList
		if err := l.Set(in); err == nil {
			t.Errorf("%q: accepted as %+v", in, l)
		}
	}
}
