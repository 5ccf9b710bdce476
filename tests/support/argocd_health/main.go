// Command argocd-health evaluates an Argo CD resource health check the way Argo CD does: the
// object is decoded into the Lua global `obj` with gopher-json, the script runs in gopher-lua
// (Argo CD's Lua VM), and the returned table's status and message are printed as JSON.
//
// Usage: argocd-health SCRIPT.lua < object.json
package main

import (
	"encoding/json"
	"fmt"
	"os"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
)

var statuses = map[string]bool{"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: argocd-health SCRIPT.lua < object.json")
		os.Exit(2)
	}
	script, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	var obj map[string]interface{}
	if err := json.NewDecoder(os.Stdin).Decode(&obj); err != nil {
		fail(err)
	}
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		l.Push(l.NewFunction(lib.open))
		l.Push(lua.LString(lib.name))
		l.Call(1, 0)
	}
	l.SetGlobal("obj", luajson.DecodeValue(l, obj))
	if err := l.DoString(string(script)); err != nil {
		fail(err)
	}
	table, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		fail(fmt.Errorf("expected a table from the script, got %s", l.Get(-1).Type()))
	}
	status := table.RawGetString("status").String()
	if !statuses[status] {
		fail(fmt.Errorf("invalid health status %q", status))
	}
	message := ""
	if m, ok := table.RawGetString("message").(lua.LString); ok {
		message = string(m)
	}
	out, _ := json.Marshal(map[string]string{"status": status, "message": message})
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}
