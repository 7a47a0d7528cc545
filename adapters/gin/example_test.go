package orygin_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	orygin "github.com/oryguard/oryguard/adapters/gin"
	"github.com/oryguard/oryguard/core"
	"github.com/oryguard/oryguard/core/orytest"
)

func Example() {
	// A fake Ory that knows one session; in production OryURL is your Ory
	// Network project URL or Kratos' public URL.
	ory := orytest.NewServer()
	defer ory.Close()
	ory.Session("session-cookie-value", orytest.ActiveSession("s-1", "ada@example.com"))

	guard, err := core.New(core.Config{OryURL: ory.URL})
	if err != nil {
		log.Fatal(err)
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/dashboard", orygin.Middleware(guard), func(c *gin.Context) {
		s, _ := orygin.Session(c)
		person, _ := core.Traits[struct {
			Email string `json:"email"`
		}](s)
		c.String(http.StatusOK, "hello %s", person.Email)
	})

	// A browser with the Ory session cookie.
	req := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
	req.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: "session-cookie-value"})
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())

	// A browser without one is sent to Ory's login flow.
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dashboard", nil))
	fmt.Println(rec.Code)
	// Output:
	// 200 hello ada@example.com
	// 303
}
