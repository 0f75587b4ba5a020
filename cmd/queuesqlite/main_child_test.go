package main

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// envMainArgs, when set, makes the test binary run the command line it
// holds (a JSON array) exactly as the queuesqlite binary would, and exit:
// tests start real `queuesqlite serve` processes this way.
const envMainArgs = "QUEUESQLITE_TEST_MAIN_ARGS"

func TestMain(m *testing.M) {
	if js := os.Getenv(envMainArgs); js != "" {
		var args []string
		if err := json.Unmarshal([]byte(js), &args); err != nil {
			fmt.Fprintln(os.Stderr, "bad", envMainArgs, err)
			os.Exit(2)
		}
		os.Args = append([]string{"queuesqlite"}, args...)
		main()
		return
	}
	os.Exit(m.Run())
}
