package harness

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"text/template"
)

//go:embed config/kratos.yml.tmpl config/identity.schema.json
var configFS embed.FS

var configTemplate = template.Must(template.New("kratos.yml.tmpl").Funcs(template.FuncMap{
	"quote": func(s string) (string, error) {
		b, err := json.Marshal(s)
		return string(b), err
	},
}).ParseFS(configFS, "config/kratos.yml.tmpl"))

// configData is what the template sees.
type configData struct {
	DSN               string
	LogLevel          string
	PublicURL         string
	AdminURL          string
	PublicPort        int
	AdminPort         int
	SchemaURL         string
	SessionLifespan   string
	UIURL             string
	DefaultReturnURL  string
	AllowedReturnURLs []string
	CacheableSessions bool
	CacheMaxAge       string
}

// writeConfig renders the Kratos configuration and the identity schema into
// dir and returns the path of the configuration file.
func writeConfig(dir string, opts KratosOptions, publicPort, adminPort int, dsn string) (string, error) {
	schema, err := configFS.ReadFile("config/identity.schema.json")
	if err != nil {
		return "", fmt.Errorf("read embedded identity schema: %w", err)
	}
	schemaPath := filepath.Join(dir, "identity.schema.json")
	if err := os.WriteFile(schemaPath, schema, 0o600); err != nil {
		return "", fmt.Errorf("write identity schema: %w", err)
	}

	data := configData{
		DSN:               dsn,
		LogLevel:          opts.LogLevel,
		PublicURL:         baseURL(publicPort) + "/",
		AdminURL:          baseURL(adminPort) + "/",
		PublicPort:        publicPort,
		AdminPort:         adminPort,
		SchemaURL:         (&url.URL{Scheme: "file", Path: filepath.ToSlash(schemaPath)}).String(),
		SessionLifespan:   opts.SessionLifespan.String(),
		UIURL:             opts.UIURL,
		DefaultReturnURL:  opts.DefaultReturnURL,
		AllowedReturnURLs: opts.AllowedReturnURLs,
		CacheableSessions: opts.CacheableSessions,
	}
	if opts.CacheableSessionsMaxAge > 0 {
		data.CacheMaxAge = opts.CacheableSessionsMaxAge.String()
	}
	var buf bytes.Buffer
	if err := configTemplate.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("render kratos config: %w", err)
	}
	path := filepath.Join(dir, "kratos.yml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("write kratos config: %w", err)
	}
	return path, nil
}

func baseURL(port int) string { return fmt.Sprintf("http://127.0.0.1:%d", port) }
