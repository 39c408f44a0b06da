package eval

import (
	"fmt"
	"testing"
)

func TestKeyTableFindsEveryKeyAndNothingElse(t *testing.T) {
	var flags []*Flag
	keys := map[string]bool{}
	add := func(k string) {
		if !keys[k] {
			keys[k] = true
			flags = append(flags, &Flag{key: k})
		}
	}
	for i := 0; i < 5000; i++ {
		// Same length, same first and last eight bytes: every one of these hashes alike, so
		// they all probe from one slot.
		add(fmt.Sprintf("checkout-%04d-variant", i%64))
		add(fmt.Sprintf("f%d", i)) // shorter than eight bytes
		add(fmt.Sprintf("release.2026.%d.payment-provider", i))
	}
	add("")
	table := newKeyTable(flags)
	for _, f := range flags {
		if got := table.get(f.key); got != f {
			t.Fatalf("get(%q) = %v", f.key, got)
		}
	}
	for _, missing := range []string{"checkout-0064-variant", "f5000", "x", "release.2026.5000.payment-provider", "checkout-0001-variann"} {
		if got := table.get(missing); got != nil {
			t.Fatalf("get(%q) found %q", missing, got.key)
		}
	}
	if empty := newKeyTable(nil); empty.get("anything") != nil {
		t.Fatal("an empty table found a key")
	}
}
