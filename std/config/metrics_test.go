package config

import (
	"errors"
	"strings"
	"testing"
)

func TestMetricsAddressIsValidated(t *testing.T) {
	for _, addr := range []string{"", "127.0.0.1:9100", "[::1]:0", "localhost:9100", ":9100", "0.0.0.0:9100"} {
		c := DefaultServer()
		c.Target, c.Metrics = "127.0.0.1:1", addr
		if err := c.Validate(); err != nil {
			t.Errorf("--metrics %q: %v", addr, err)
		}
	}
	for _, addr := range []string{"9100", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", "127.0.0.1:-1"} {
		c := DefaultClient()
		c.Metrics = addr
		err := c.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--metrics") {
			t.Errorf("--metrics %q: error %v, want a --metrics FieldError", addr, err)
		}
	}
}

func TestMetricsBeyondLoopbackWarns(t *testing.T) {
	cases := map[string]bool{
		"": false, "127.0.0.1:9100": false, "[::1]:9100": false, "localhost:9100": false,
		":9100": true, "0.0.0.0:9100": true, "192.0.2.7:9100": true, "example.org:9100": true,
	}
	for addr, warn := range cases {
		c := DefaultClient().Common
		c.Metrics = addr
		w := c.Warnings()
		if got := len(w) == 1 && strings.Contains(w[0], "loopback"); got != warn || len(w) > 1 {
			t.Errorf("--metrics %q: warnings %q, want a loopback warning: %v", addr, w, warn)
		}
	}
}

func TestMetricsFromJSON(t *testing.T) {
	path := writeFile(t, "m.json", `{"metrics": "127.0.0.1:9200"}`)
	c := mustLoadClient(t, nil, "-c", path)
	if c.Metrics != "127.0.0.1:9200" {
		t.Errorf("metrics from JSON = %q", c.Metrics)
	}
}
