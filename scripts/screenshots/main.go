// Command screenshots refreshes the dashboard screenshots in docs/screenshots: it runs
// `flagpilot demo`, waits until the story is told, signs in to the dashboard with the login the
// demo prints, and saves the key pages as Debian's Chromium renders them.
//
//	go run ./scripts/screenshots
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// pages are the screenshots: name, path, and an element that shows the page is ready.
var pages = []struct{ name, path, ready string }{
	{"flags", "/p/shop/flags?env=production", "#flag-list"},
	{"flag", "/p/shop/flags/new-checkout?env=production", "#flag-history"},
	{"targeting", "/p/shop/flags/new-checkout/targeting?env=production", "#targeting-form"},
	{"rollout-rolled-back", "/p/shop/flags/smart-recommendations/rollout?env=production", "#decisions"},
	{"rollout-completed", "/p/shop/flags/fast-search/rollout?env=production", "#decisions"},
	{"analytics", "/p/shop/analytics?env=production&flag=new-checkout&since=15m", "main h1"},
	{"audit", "/p/shop/audit?env=production", "main h1"},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "flagpilot-screenshots")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "flagpilot")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/flagpilot").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	demo := exec.Command(bin, "demo", "--addr", "127.0.0.1:0")
	stdout, err := demo.StdoutPipe()
	if err != nil {
		return err
	}
	if err := demo.Start(); err != nil {
		return err
	}
	defer demo.Process.Kill()

	var url, email, password string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(line)
		fields := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "  Dashboard "):
			url = strings.TrimSuffix(fields[1], "/")
		case strings.HasPrefix(line, "  E-mail "):
			email = fields[1]
		case strings.HasPrefix(line, "  Password "):
			password = fields[1]
		}
		if strings.HasPrefix(line, "The story took") {
			break
		}
	}
	if url == "" || password == "" {
		return errors.New("the demo ended before telling its story")
	}
	go func() { // keep reading, so the demo never blocks on a full pipe
		for sc.Scan() {
		}
	}()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath("/usr/bin/chromium"), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-component-update", true), chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()
	err = chromedp.Do(ctx,
		chromedp.Navigate(url+"/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("button.primary")),
		chromedp.WaitVisible(chromedp.CSS("#flag-list")))
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	dir := filepath.Join("docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range pages {
		if err := chromedp.Do(ctx, chromedp.Navigate(url+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready))); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, p.name+".png"), png, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", filepath.Join(dir, p.name+".png"))
	}
	return nil
}
