// lunora-exec: the exec runner of local mode's instance Pods.
//
// A Kubernetes Pod exec runs a command as it is: it cannot give it extra environment variables
// or another working directory, and closing the exec stream does not stop the command. The
// router therefore runs this static binary in the instance container instead, and it does what
// Lunora's native exec does:
//
//   - the command runs unshelled, with the container's environment plus the call's `env`, in
//     `cwd` when given, stdin empty;
//   - stdout and stderr share one output budget; over it the command is killed: 413;
//   - past `timeoutMs` the command is killed: 504;
//   - otherwise 200 {"code", "stdout", "stderr"}; a non-zero code is a result.
//
// Usage:
//
//	lunora-exec install DEST   copy this binary to DEST (mode 0755): an init container's job
//	lunora-exec run            read one request line (JSON) on stdin, answer on stdout
//
// The request is `{"command", "args", "cwd"?, "env"?, "timeoutMs"?, "maxOutputBytes"}` on one
// line; it travels on stdin rather than on the command line so that env values (often tokens)
// never appear in an API server's request log. The answer is the HTTP status on the first line
// and the JSON body after it.
//
// Killing means SIGKILL to the command's process group (it gets its own), so a shell's children
// go too. When the command exits by itself, what it left running in the background is left alone
// and its output is no longer read after a short grace.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	maxRequestBytes = 8 << 20
	// PATH when neither the container nor the call sets one: what container runtimes give.
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// How long output is still read after the command exited (background children may hold it).
	pipeGrace = 200 * time.Millisecond
	// Shell conventions for a command that could not be started.
	codeNotFound   = 127
	codeCannotExec = 126
)

type request struct {
	Command        string            `json:"command"`
	Args           []string          `json:"args"`
	Cwd            *string           `json:"cwd"`
	Env            map[string]string `json:"env"`
	TimeoutMs      *float64          `json:"timeoutMs"`
	MaxOutputBytes int64             `json:"maxOutputBytes"`
}

type result struct {
	Code   int    `json:"code"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
}

type problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// budget is shared by stdout and stderr; the first write past it calls over() once.
type budget struct {
	mu    sync.Mutex
	left  int64
	over  func()
	spent bool
}

type capture struct {
	budget *budget
	buf    []byte
}

func (c *capture) Write(p []byte) (int, error) {
	b := c.budget
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.spent {
		return len(p), nil
	}
	if int64(len(p)) > b.left {
		b.spent = true
		b.over()
		return len(p), nil
	}
	b.left -= int64(len(p))
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "install" {
		if err := install(os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "lunora-exec install: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) != 2 || os.Args[1] != "run" {
		fmt.Fprintln(os.Stderr, "usage: lunora-exec install DEST | lunora-exec run (request on stdin)")
		os.Exit(2)
	}
	status, body := serve(os.Stdin)
	fmt.Printf("%d\n%s", status, body)
}

func install(dest string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(self)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dest + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dest)
}

func answer(status int, code, format string, args ...any) (int, []byte) {
	body, _ := json.Marshal(problem{Code: code, Message: fmt.Sprintf(format, args...)})
	return status, body
}

func readRequest(stdin io.Reader) (*request, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, maxRequestBytes), 64<<10).ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return nil, fmt.Errorf("no request line on stdin: %v", err)
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return nil, fmt.Errorf("the request is not JSON: %v", err)
	}
	if req.Command == "" {
		return nil, errors.New("exec requires a non-empty `command`")
	}
	if req.MaxOutputBytes <= 0 {
		return nil, errors.New("`maxOutputBytes` must be a positive number of bytes")
	}
	if req.TimeoutMs != nil && *req.TimeoutMs <= 0 {
		return nil, errors.New("`timeoutMs` must be a positive number of milliseconds")
	}
	return &req, nil
}

// environment: the container's own, with the call's variables replacing or adding to it.
func environment(extra map[string]string) []string {
	env := make([]string, 0, len(os.Environ())+len(extra))
	for _, entry := range os.Environ() {
		name, _, _ := strings.Cut(entry, "=")
		if _, replaced := extra[name]; !replaced {
			env = append(env, entry)
		}
	}
	for name, value := range extra {
		env = append(env, name+"="+value)
	}
	return env
}

func lookup(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := defaultPath
	for _, entry := range env {
		if value, found := strings.CutPrefix(entry, "PATH="); found {
			path = value
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		candidate := filepath.Join(dir, name)
		if info, err := os.Stat(candidate); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return candidate, nil
		}
	}
	return "", fs.ErrNotExist
}

func serve(stdin io.Reader) (int, []byte) {
	req, err := readRequest(stdin)
	if err != nil {
		return answer(400, "BAD_REQUEST", "%v", err)
	}
	env := environment(req.Env)
	if req.Cwd != nil {
		// Checked here: with its own process group the child's chdir error would name the command.
		if info, err := os.Stat(*req.Cwd); err != nil {
			return done(req, result{Code: codeCannotExec, Stderr: fmt.Sprintf("exec: cwd: %v\n", err)})
		} else if !info.IsDir() {
			return done(req, result{Code: codeCannotExec, Stderr: fmt.Sprintf("exec: cwd %s: not a directory\n", *req.Cwd)})
		}
	}
	path, err := lookup(req.Command, env)
	if err != nil {
		return done(req, result{Code: codeNotFound, Stderr: fmt.Sprintf("exec: %q: not found in PATH\n", req.Command)})
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if req.TimeoutMs != nil {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*req.TimeoutMs*float64(time.Millisecond)))
		defer cancel()
	}
	overflowed := false
	shared := &budget{left: req.MaxOutputBytes, over: func() { overflowed = true; cancel() }}
	stdout, stderr := &capture{budget: shared}, &capture{budget: shared}

	cmd := exec.CommandContext(ctx, path, req.Args...)
	cmd.Args[0] = req.Command
	cmd.Env = env
	if req.Cwd != nil {
		cmd.Dir = *req.Cwd
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = pipeGrace

	if err := cmd.Start(); err != nil {
		code := codeCannotExec
		if errors.Is(err, fs.ErrNotExist) {
			code = codeNotFound
		}
		return done(req, result{Code: code, Stderr: fmt.Sprintf("exec: %v\n", err)})
	}
	waitErr := cmd.Wait()

	shared.mu.Lock()
	over := overflowed
	shared.mu.Unlock()
	if over {
		return answer(413, "PAYLOAD_TOO_LARGE",
			"exec output exceeded %d bytes; the command was killed", req.MaxOutputBytes)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return answer(504, "TIMEOUT", "exec timed out after %gms; the command was killed", *req.TimeoutMs)
	}
	if waitErr != nil && !errors.Is(waitErr, exec.ErrWaitDelay) {
		var exitErr *exec.ExitError
		if !errors.As(waitErr, &exitErr) {
			return answer(500, "INTERNAL", "exec: waiting for the command failed: %v", waitErr)
		}
	}
	return done(req, result{Code: exitCode(cmd.ProcessState), Stdout: string(stdout.buf), Stderr: string(stderr.buf)})
}

// exitCode: the process's exit status, or 128 + N when signal N ended it (as shells report it).
func exitCode(state *os.ProcessState) int {
	if status, ok := state.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return 128 + int(status.Signal())
	}
	return state.ExitCode()
}

func done(req *request, res result) (int, []byte) {
	body, _ := json.Marshal(res)
	if int64(len(body)) > req.MaxOutputBytes {
		return answer(413, "PAYLOAD_TOO_LARGE",
			"exec reply is %d bytes once encoded, over the %d-byte budget", len(body), req.MaxOutputBytes)
	}
	return 200, body
}
