// Command istio-validate runs istiod's own validation on Istio objects, the way istiod's
// validating webhook does (istio.io/istio pkg/webhooks/validation/server, func validate): decode
// the object into crd.IstioKind, look its group and kind up in the schemas istiod serves
// (collections.PilotGatewayAPI), convert it with crd.ConvertObject, run the schema's
// ValidateConfig, then refuse unknown top-level fields (the webhook's checkFields).
//
// Input on stdin: a JSON array of objects, or one JSON object per line. Output on stdout: one
// JSON line per object, {"name","namespace","kind","errors":[...],"warnings":[...]}, in input
// order. Exit status 0 when every object was read (valid or not), 2 when stdin is not JSON.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/go-multierror"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/config/schema/resource"
	"istio.io/istio/pkg/log"
)

// The webhook's default domain suffix (istiod --domain, constants.DefaultClusterLocalDomain).
const domainSuffix = "cluster.local"

// The only top-level fields the webhook accepts (server.go validFields).
var validFields = map[string]bool{"apiVersion": true, "kind": true, "metadata": true, "spec": true, "status": true}

type result struct {
	Name      string   `json:"name"`
	Namespace string   `json:"namespace"`
	Kind      string   `json:"kind"`
	Errors    []string `json:"errors"`
	Warnings  []string `json:"warnings"`
}

func validate(raw []byte) result {
	r := result{Errors: []string{}, Warnings: []string{}}
	var obj crd.IstioKind
	if err := json.Unmarshal(raw, &obj); err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("cannot decode configuration: %v", err))
		return r
	}
	r.Name, r.Namespace, r.Kind = obj.Name, obj.Namespace, obj.Kind
	gvk := obj.GroupVersionKind()
	s, ok := collections.PilotGatewayAPI().FindByGroupKind(resource.FromKubernetesGVK(&gvk))
	if !ok {
		r.Errors = append(r.Errors, fmt.Sprintf("unrecognized type %v", gvk))
		return r
	}
	out, err := crd.ConvertObject(s, &obj, domainSuffix)
	if err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("error decoding configuration: %v", err))
		return r
	}
	warnings, err := s.ValidateConfig(*out)
	r.Errors = append(r.Errors, flatten(err)...)
	r.Warnings = append(r.Warnings, flatten(warnings)...)
	if err != nil {
		return r
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &fields); err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("cannot decode configuration fields: %v", err))
		return r
	}
	for key := range fields {
		if !validFields[key] {
			r.Errors = append(r.Errors, fmt.Sprintf("unknown field %q on %s resource %s/%s", key, obj.Kind, obj.Namespace, obj.Name))
		}
	}
	return r
}

// flatten lists each error of a multierror (Istio's validation collects them) on its own.
func flatten(err error) []string {
	if err == nil {
		return nil
	}
	if m, ok := err.(*multierror.Error); ok {
		var all []string
		for _, e := range m.Errors {
			all = append(all, flatten(e)...)
		}
		return all
	}
	return []string{err.Error()}
}

// objects reads a JSON array or a stream of JSON values (one per line, or concatenated).
func objects(in io.Reader) ([]json.RawMessage, error) {
	data, err := io.ReadAll(bufio.NewReader(in))
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, err
		}
		return list, nil
	}
	var list []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	for dec.More() {
		var one json.RawMessage
		if err := dec.Decode(&one); err != nil {
			return nil, err
		}
		list = append(list, one)
	}
	return list, nil
}

func main() {
	// Istio's packages log at info level to stderr; keep only errors.
	opts := log.DefaultOptions()
	opts.SetDefaultOutputLevel(log.OverrideScopeName, log.ErrorLevel)
	_ = log.Configure(opts)
	list, err := objects(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "istio-validate: stdin is not a JSON array or JSON lines: %v\n", err)
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, raw := range list {
		if err := enc.Encode(validate(raw)); err != nil {
			fmt.Fprintf(os.Stderr, "istio-validate: %v\n", err)
			os.Exit(1)
		}
	}
}
