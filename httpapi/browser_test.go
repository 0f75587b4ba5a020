package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/httpapi"
)

// browserDeadline bounds the whole browser session; each wait inside has
// testDeadline. Neither is a measure of speed.
const browserDeadline = 2 * time.Minute

// xssMarkup is what a hostile sender puts in every field it controls.
const xssMarkup = `<img src=x onerror="window.__xss=1">`

// chromiumPath is the headless browser, or "" when none is installed.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is a headless Chromium tab; a failed action fails the test.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; CI must run the browser test (apt-get install chromium)")
		}
		t.Skip("chromium not installed: skipping the browser test (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1280, 1000))
	ctx, cancel := context.WithTimeout(t.Context(), browserDeadline)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	return &browser{t: t, ctx: tab}
}

// tab opens another tab of the same browser (its own sessionStorage).
func (b *browser) tab() *browser {
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	return &browser{t: b.t, ctx: ctx}
}

func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// until polls a JavaScript expression until it is truthy.
func (b *browser) until(what, expr string) {
	b.t.Helper()
	// A page still rendering may lack an element: that is "not yet".
	guarded := fmt.Sprintf(`(() => { try { return (%s); } catch (e) { return false; } })()`, expr)
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](guarded, chromedp.WithPollingTimeout(testDeadline), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		page, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 2000)`))
		b.t.Fatalf("browser: waiting for %s: %v\npage text:\n%s", what, err, page)
	}
}

// eval evaluates an expression to a value of type T.
func eval[T any](b *browser, what, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// open shows a page of the dashboard and waits for its title.
func (b *browser) open(url, title string) {
	b.t.Helper()
	b.run("open "+url, chromedp.Navigate(url))
	b.until(title+" page", fmt.Sprintf(`(document.querySelector("#page-title")||{}).textContent === %q`, title))
}

// noInjection fails when markup from message data became elements or ran.
func (b *browser) noInjection(where string) {
	b.t.Helper()
	bad := eval[string](b, "check injection", `(() => {
		if (window.__xss) return "script from data ran";
		if (document.querySelector("img")) return "an <img> element was injected";
		if (document.querySelector("main [onerror]")) return "an onerror attribute was injected";
		return "";
	})()`)
	if bad != "" {
		b.t.Fatalf("%s: %s", where, bad)
	}
}

// dashboardQueue serves a started queue with handlers: "ok" answers,
// "flaky" fails (one attempt) while failing is set.
func dashboardQueue(t *testing.T, opts *httpapi.Options) (*api, *atomic.Bool) {
	t.Helper()
	if opts == nil {
		opts = &httpapi.Options{}
	}
	opts.SampleInterval = 200 * time.Millisecond
	a := setup(t, nil, opts)
	failing := &atomic.Bool{}
	failing.Store(true)
	queuesqlite.HandleJSON(a.q, "ok", func(_ context.Context, in map[string]any) (map[string]any, error) {
		return map[string]any{"echo": in}, nil
	}, nil)
	queuesqlite.HandleJSON(a.q, "flaky", func(context.Context, map[string]any) (string, error) {
		if failing.Load() {
			return "", errors.New("flaky: the downstream service said no")
		}
		return "fine now", nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 1})
	if err := a.q.Listen("feature-flag", func(context.Context, *queuesqlite.Change) error { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return a, failing
}

// waitStatus polls the queue until message id has the status.
func waitStatus(t *testing.T, a *api, id string, want queuesqlite.Status) {
	t.Helper()
	eventually(t, id+" "+want.String(), func() bool {
		m, err := a.q.Get(t.Context(), id)
		return err == nil && m.Status == want
	})
}

// TestDashboard_Browser drives the dashboard in a real headless Chromium:
// every page loads, a message sent through the form appears in the list,
// a failed message retried by a click leaves the dead letters and
// completes, a selection is cancelled in bulk, hostile markup in message
// and listen data stays text, every attempt's error shows on the detail
// page, destinations and worker queues pause and resume by a click, one
// message and a selection are deleted, a group shows its members and
// result, and a read-only token hides the writes. The overview's
// screenshot is kept as an artifact (with QUEUESQLITE_ARTIFACTS, the other
// pages' too).
func TestDashboard_Browser(t *testing.T) {
	b := newBrowser(t)
	a, failing := dashboardQueue(t, nil)
	ui := a.srv.URL + "/ui/"
	a.must(201, "POST", "/v1/messages", `{"id": "flaky-1", "destination": "flaky", "content": {}}`)
	sendOK := func(n int) {
		for i := range n {
			a.must(201, "POST", "/v1/messages", fmt.Sprintf(`{"destination": "ok", "content": {"n": %d}}`, i))
		}
	}
	sendOK(10)
	waitStatus(t, a, "flaky-1", queuesqlite.StatusFailed)

	t.Run("overview", func(t *testing.T) {
		b.t = t
		b.run("open /", chromedp.Navigate(a.srv.URL+"/")) // redirects to /ui/
		b.until("overview", `(document.querySelector("#page-title")||{}).textContent === "Overview" && location.pathname.endsWith("/ui/")`)
		b.until("status cards", `document.querySelectorAll("#status-cards .stat").length === 9`)
		b.until("failed count", `document.querySelector('#status-cards [data-status="failed"] .num').textContent === "1"`)
		sendOK(10) // after the sampler started: throughput and latency to draw
		b.until("throughput and latency lines", `document.querySelector("#chart-throughput path.line") && document.querySelector("#chart-latency path.line")`)
		saveScreenshot(t, b)
	})

	t.Run("pages", func(t *testing.T) {
		b.t = t
		b.open(ui+"#/destinations", "Destinations")
		b.until("destinations table", `[...document.querySelectorAll("#dest-table td a")].some(a => a.textContent === "flaky")`)
		b.open(ui+"#/messages", "Messages")
		b.until("message rows", `document.querySelectorAll("#msg-table tbody tr[data-id]").length > 0 && document.querySelector("#filter-form") && document.querySelector("#send-form")`)
		b.open(ui+"#/messages?limit=10", "Messages")
		b.until("a full first page", `document.querySelectorAll("#msg-table tbody tr[data-id]").length === 10 && !document.querySelector("#page-next").disabled`)
		b.run("next page", chromedp.Click(chromedp.CSS("#page-next")))
		b.until("page 2", `[...document.querySelectorAll(".pager span")].some(s => s.textContent === "page 2") && document.querySelectorAll("#msg-table tbody tr[data-id]").length > 0`)
		pageScreenshot(t, b, "messages")
		b.open(ui+"#/message/flaky-1", "Message flaky-1")
		b.until("message detail", `document.querySelector("#m-error") && document.querySelector("#m-error").textContent.includes("the downstream service said no") && document.querySelector("#m-content")`)
		pageScreenshot(t, b, "message")
		b.open(ui+"#/dead-letters", "Dead letters")
		b.until("dead letter row", `!!document.querySelector('#msg-table tr[data-id="flaky-1"]')`)
		a.must(200, "PUT", "/v1/listen-data/feature-flag", `{"value": "on"}`)
		b.open(ui+"#/listeners", "Listeners")
		b.until("listener group, key and change", fmt.Sprintf(`[...document.querySelectorAll("#groups-table td")].some(td => td.textContent === %q) &&
			[...document.querySelectorAll("#entries-table td")].some(td => td.textContent === "feature-flag") &&
			[...document.querySelectorAll("#changes-table td")].some(td => td.textContent === "feature-flag")`, queuesqlite.ListenGroupDefault))
		b.open(ui+"#/shards", "Shards")
		b.until("shards table", `document.querySelectorAll("#shards-table tbody tr").length === 1`)
	})

	t.Run("attempts table", func(t *testing.T) {
		b.t = t
		a.must(201, "POST", "/v1/messages", `{"id": "flaky-3x", "destination": "flaky", "content": {}, "max_attempts": 3}`)
		waitStatus(t, a, "flaky-3x", queuesqlite.StatusFailed)
		b.open(ui+"#/message/flaky-3x", "Message flaky-3x")
		b.until("a row per attempt", `document.querySelectorAll("#attempts-table tr[data-attempt]").length === 3 &&
			[...document.querySelectorAll("#attempts-table tr[data-attempt]")].map(r => r.dataset.attempt).join() === "1,2,3" &&
			document.querySelector('#attempts-table tr[data-attempt="2"] pre').textContent.includes("the downstream service said no")`)
		pageScreenshot(t, b, "message-attempts")
	})

	t.Run("send through the form", func(t *testing.T) {
		b.t = t
		b.open(ui+"#/messages", "Messages")
		b.run("fill the form",
			chromedp.SetValue(chromedp.CSS("#s-destination"), "ok"),
			chromedp.SetValue(chromedp.CSS("#s-id"), "ui-sent-1"),
			chromedp.SetValue(chromedp.CSS("#s-content"), `{"from": "the form"}`),
			chromedp.SetValue(chromedp.CSS("#s-tags"), "web, manual"),
			chromedp.Click(chromedp.CSS("#send-submit")))
		b.until("the sent id", `(document.querySelector("#sent-id")||{}).textContent === "ui-sent-1"`)
		b.until("the sent message in the list", `!!document.querySelector('#msg-table tr[data-id="ui-sent-1"]')`)
		waitStatus(t, a, "ui-sent-1", queuesqlite.StatusCompleted)
		m, err := a.q.Get(t.Context(), "ui-sent-1")
		if err != nil || string(m.Content) != `{"from":"the form"}` || strings.Join(m.Tags, ",") != "web,manual" {
			t.Fatalf("sent through the form: %+v, %v", m, err)
		}
		b.until("the list shows it completed", `(document.querySelector('#msg-table tr[data-id="ui-sent-1"]')||{dataset:{}}).dataset.status === "completed"`)
	})

	t.Run("retry a failed message by clicking", func(t *testing.T) {
		b.t = t
		b.open(ui+"#/dead-letters", "Dead letters")
		b.until("dead letter row", `!!document.querySelector('#msg-table tr[data-id="flaky-1"] button.retry')`)
		failing.Store(false)
		b.run("click retry", chromedp.Click(chromedp.CSS(`#msg-table tr[data-id="flaky-1"] button.retry`)))
		b.until("the row leaves the dead letters", `!document.querySelector('#msg-table tr[data-id="flaky-1"]')`)
		waitStatus(t, a, "flaky-1", queuesqlite.StatusCompleted)
		b.open(ui+"#/message/flaky-1", "Message flaky-1")
		b.until("completed with its result", `document.querySelector("#m-result").textContent === '"fine now"'`)
	})

	t.Run("bulk cancel a selection", func(t *testing.T) {
		b.t = t
		for _, id := range []string{"later-1", "later-2"} {
			a.must(201, "POST", "/v1/messages", `{"id": "`+id+`", "destination": "ok", "content": {}, "delay_seconds": 3600}`)
		}
		b.open(ui+"#/messages?status=scheduled,pending", "Messages")
		b.until("both rows", `document.querySelectorAll('#msg-table tr[data-id^="later-"]').length === 2`)
		b.run("select all, cancel", chromedp.Click(chromedp.CSS("#select-all")), chromedp.Click(chromedp.CSS("#bulk-cancel")))
		b.run("confirm", chromedp.Click(chromedp.CSS("#bulk-confirm")))
		b.until("the rows leave the list", `document.querySelectorAll('#msg-table tr[data-id^="later-"]').length === 0`)
		waitStatus(t, a, "later-1", queuesqlite.StatusCancelled)
		waitStatus(t, a, "later-2", queuesqlite.StatusCancelled)
	})

	t.Run("hostile data stays text", func(t *testing.T) {
		b.t = t
		body := fmt.Sprintf(`{"id": "xss-1", "destination": %q, "content": {"html": %q}, "tags": [%q], "delay_seconds": 3600}`, xssMarkup, xssMarkup, xssMarkup)
		a.must(201, "POST", "/v1/messages", body)
		a.must(200, "PUT", "/v1/listen-data/"+url.PathEscape(xssMarkup), fmt.Sprintf(`{"value": %q}`, xssMarkup))
		b.open(ui+"#/messages", "Messages")
		b.until("the row", `!!document.querySelector('#msg-table tr[data-id="xss-1"]')`)
		b.noInjection("messages")
		b.open(ui+"#/message/xss-1", "Message xss-1")
		b.until("content as text", fmt.Sprintf(`(document.querySelector("#m-content")||{textContent:""}).textContent.includes(%q)`, `<img src=x`))
		b.noInjection("message detail")
		b.open(ui+"#/destinations", "Destinations")
		b.until("destination as text", fmt.Sprintf(`[...document.querySelectorAll("#dest-table td a")].some(a => a.textContent === %q)`, xssMarkup))
		pageScreenshot(t, b, "destinations")
		b.noInjection("destinations")
		b.open(ui+"#/listeners", "Listeners")
		b.until("key as text", fmt.Sprintf(`[...document.querySelectorAll("#entries-table td")].some(td => td.textContent === %q)`, xssMarkup))
		pageScreenshot(t, b, "listeners")
		b.noInjection("listeners")
	})

	t.Run("pause and resume a destination", func(t *testing.T) {
		b.t = t
		b.open(ui+"#/destinations", "Destinations")
		row := `#dest-table tr[data-destination="ok"]`
		b.until("the ok row running", `document.querySelector('`+row+`').dataset.paused === "false"`)
		b.run("click pause", chromedp.Click(chromedp.CSS(row+` button.pause`)))
		b.until("the ok row paused", `document.querySelector('`+row+`').dataset.paused === "true" && !!document.querySelector('`+row+` .badge.paused')`)
		if ps, err := a.q.Paused(t.Context()); err != nil || len(ps) != 1 || ps[0].Name != "ok" || ps[0].Kind != queuesqlite.PauseKindDestination {
			t.Fatalf("the queue's pauses after the click: %+v %v", ps, err)
		}
		pageScreenshot(t, b, "destinations-paused")
		b.run("click resume", chromedp.Click(chromedp.CSS(row+` button.resume`)))
		b.until("the ok row running again", `document.querySelector('`+row+`').dataset.paused === "false"`)
		if ps, err := a.q.Paused(t.Context()); err != nil || len(ps) != 0 {
			t.Fatalf("the queue's pauses after resume: %+v %v", ps, err)
		}
	})

	t.Run("pause and resume a worker queue", func(t *testing.T) {
		b.t = t
		b.open(ui+"#/destinations", "Destinations")
		b.until("no paused queue", `!!document.querySelector("#queues-table tr.empty")`)
		b.run("pause bulk", chromedp.SetValue(chromedp.CSS("#queue-name"), "bulk"), chromedp.Click(chromedp.CSS("#queue-pause")))
		b.until("the bulk row", `!!document.querySelector('#queues-table tr[data-queue="bulk"] button.resume')`)
		if ps, err := a.q.Paused(t.Context()); err != nil || len(ps) != 1 || ps[0].Name != "bulk" || ps[0].Kind != queuesqlite.PauseKindQueue {
			t.Fatalf("the queue's pauses after pausing a worker queue: %+v %v", ps, err)
		}
		b.run("resume bulk", chromedp.Click(chromedp.CSS(`#queues-table tr[data-queue="bulk"] button.resume`)))
		b.until("no paused queue again", `!document.querySelector('#queues-table tr[data-queue="bulk"]')`)
	})

	t.Run("delete one and a selection", func(t *testing.T) {
		b.t = t
		for _, id := range []string{"del-1", "del-2", "del-3", "keep-1"} {
			a.must(201, "POST", "/v1/messages", `{"id": "`+id+`", "destination": "ok", "content": {}, "delay_seconds": 3600}`)
		}
		b.open(ui+"#/message/del-1", "Message del-1")
		b.until("the delete button", `!!document.querySelector("#message-detail .actions button.delete")`)
		b.run("click delete", chromedp.Click(chromedp.CSS("#message-detail .actions button.delete")))
		b.until("the message is gone", `(document.querySelector("#message-detail")||{textContent:""}).textContent.includes("No message with this id.")`)
		b.open(ui+"#/messages?status=scheduled", "Messages")
		b.until("the rows", `document.querySelectorAll('#msg-table tr[data-id^="del-"], #msg-table tr[data-id="keep-1"]').length === 3`)
		b.run("select two, delete",
			chromedp.Click(chromedp.CSS(`#msg-table tr[data-id="del-2"] input.select`)),
			chromedp.Click(chromedp.CSS(`#msg-table tr[data-id="del-3"] input.select`)),
			chromedp.Click(chromedp.CSS("#bulk-delete")))
		b.run("confirm", chromedp.Click(chromedp.CSS("#bulk-confirm")))
		b.until("the selection leaves the list", `document.querySelectorAll('#msg-table tr[data-id^="del-"]').length === 0 && !!document.querySelector('#msg-table tr[data-id="keep-1"]')`)
		for _, id := range []string{"del-1", "del-2", "del-3"} {
			if _, err := a.q.Get(t.Context(), id); !errors.Is(err, queuesqlite.ErrNotFound) {
				t.Fatalf("%s after deleting it in the dashboard: %v, want ErrNotFound", id, err)
			}
		}
		if _, err := a.q.Get(t.Context(), "keep-1"); err != nil {
			t.Fatalf("the message not selected: %v", err)
		}
	})

	t.Run("groups page", func(t *testing.T) {
		b.t = t
		g, err := a.q.SendGroup(t.Context(), []*queuesqlite.Message{queuesqlite.NewMessage("ok", map[string]int{"n": 1}), queuesqlite.NewMessage("ok", map[string]int{"n": 2})}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b.open(ui+"#/groups", "Groups")
		b.run("show the group", chromedp.SetValue(chromedp.CSS("#group-id"), g.ID), chromedp.Click(chromedp.CSS("#group-show")))
		b.until("the finished group", `(document.querySelector("#group-state")||{dataset:{}}).dataset.finished === "true" &&
			document.querySelectorAll('#group-members tr[data-status="completed"]').length === 2 &&
			(document.querySelector('#group-counts [data-status="completed"]')||{textContent:""}).textContent.includes("2")`)
		for _, id := range g.MessageIDs {
			b.until("member "+id, fmt.Sprintf(`!!document.querySelector('#group-members tr[data-id=%q]')`, id))
		}
		pageScreenshot(t, b, "groups")
		b.open(ui+"#/groups/no-such-group", "Groups")
		b.until("an unknown group", `!!document.querySelector("#group-missing")`)
	})

	t.Run("read-only token hides writes", func(t *testing.T) {
		ro, _ := dashboardQueue(t, &httpapi.Options{Token: "full-secret", ReadOnlyToken: "ro-secret"})
		b.t = t
		tb := b.tab()
		tb.run("open", chromedp.Navigate(ro.srv.URL+"/ui/#/messages"))
		tb.until("login form", `!!document.querySelector("#login-form")`)
		tb.run("wrong token", chromedp.SendKeys(chromedp.CSS("#token-input"), "nope"), chromedp.Click(chromedp.CSS("#login-form button")))
		tb.until("refused", `(document.querySelector("#login-form .error-text")||{}).textContent === "wrong bearer token"`)
		tb.run("read-only token", chromedp.SetValue(chromedp.CSS("#token-input"), "ro-secret"), chromedp.Click(chromedp.CSS("#login-form button")))
		tb.until("messages page", `(document.querySelector("#page-title")||{}).textContent === "Messages" && document.querySelector("#access").textContent === "read-only"`)
		hidden := eval[bool](tb, "writes hidden", `!document.querySelector("#send-form") && getComputedStyle(document.querySelector("#bulk-bar")).display === "none" && sessionStorage.getItem("queuesqlite.token") === "ro-secret"`)
		if !hidden {
			t.Fatal("with the read-only token the send form or bulk actions are shown, or the token is not in sessionStorage")
		}
	})
}

// saveScreenshot keeps the overview as a PNG: in $QUEUESQLITE_ARTIFACTS
// when set, else in the test's temporary directory.
func saveScreenshot(t *testing.T, b *browser) {
	t.Helper()
	saveScreenshotAs(t, b, "dashboard-overview.png", true)
}

// pageScreenshot keeps a picture of another page, only when artifacts are
// kept.
func pageScreenshot(t *testing.T, b *browser, name string) {
	t.Helper()
	if os.Getenv("QUEUESQLITE_ARTIFACTS") != "" {
		saveScreenshotAs(t, b, "dashboard-"+name+".png", false)
	}
}

func saveScreenshotAs(t *testing.T, b *browser, name string, log bool) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("QUEUESQLITE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	if log {
		t.Logf("overview screenshot: %s", path)
	}
}
