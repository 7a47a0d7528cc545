package conformance_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	"github.com/labstack/echo/v4"
	oryecho "github.com/oryguard/oryguard/adapters/echo"
	oryfiber "github.com/oryguard/oryguard/adapters/fiber"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	oryhttp "github.com/oryguard/oryguard/adapters/nethttp"
	"github.com/oryguard/oryguard/core"
)

// TestDefaultErrorHandlerOtherErrors: every adapter's DefaultErrorHandler
// answers an error that is not a *core.Denial (or a nil one) with the same
// plain-text 500, never with a session or a redirect.
func TestDefaultErrorHandlerOtherErrors(t *testing.T) {
	for _, err := range []error{errors.New("app failure"), (*core.Denial)(nil)} {
		handlers := map[string]http.Handler{
			"net/http": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { oryhttp.DefaultErrorHandler(w, r, err) }),
			"gin": func() http.Handler {
				r := gin.New()
				r.GET("/", func(c *gin.Context) { orygin.DefaultErrorHandler(c, err) })
				return r
			}(),
			"echo": func() http.Handler {
				e := echo.New()
				e.GET("/", func(c echo.Context) error { return oryecho.DefaultErrorHandler(c, err) })
				return e
			}(),
		}
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		app.Get("/", func(c *fiber.Ctx) error { return oryfiber.DefaultErrorHandler(c, err) })
		serve := map[string]func() (*http.Response, error){
			"fiber": func() (*http.Response, error) { return app.Test(httptest.NewRequest(http.MethodGet, "/", nil), -1) },
		}
		for name, h := range handlers {
			serve[name] = func() (*http.Response, error) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
				return rec.Result(), nil
			}
		}
		for name, do := range serve {
			resp, e := do()
			if e != nil {
				t.Fatalf("%s: %v", name, e)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 500 || string(body) != "Internal Server Error\n" ||
				resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
				resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Location") != "" {
				t.Errorf("%s, %#v: %d %v %q", name, err, resp.StatusCode, resp.Header, body)
			}
		}
	}
}
