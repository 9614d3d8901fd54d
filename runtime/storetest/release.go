package storetest

func releaseTests() []testCase {
	cases := []testCase{
		{"own-lease", func(h *harness) {
			k := h.key("k")
			h.set(k, leased, longTTL)
			h.release(k, leased.Token)
			h.want(k, absent)
			if ok, cur := h.lease(k, "token-b", longTTL); !ok {
				h.t.Fatalf("Lease after Release failed, key holds %s", Show(cur))
			}
		}},
		{"absent", func(h *harness) {
			k := h.key("k")
			h.release(k, leased.Token)
			h.want(k, absent)
		}},
	}
	// A lease of another reader, a value, a not-found or a writer's lock
	// must survive: releasing them would let a stale fill in.
	for _, st := range states {
		cases = append(cases, testCase{"keeps-" + st.name, func(h *harness) {
			k := h.key("k")
			h.set(k, st.e, longTTL)
			token := leased.Token
			if st.e.Kind == leased.Kind {
				token = "token-b"
			}
			h.release(k, token)
			h.want(k, st.e)
		}})
	}
	return cases
}
