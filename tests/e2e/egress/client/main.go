// egress-client makes one HTTP(S) request as an instance's own code would: through
// HTTP_PROXY / HTTPS_PROXY / NO_PROXY (upper or lower case) unless -direct, trusting only the
// CA files -cacert names. It prints "STATUS <code>" and the body, or "ERROR <reason>" and
// exits 1 when no response came.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	url := flag.String("url", "", "URL to GET")
	cacert := flag.String("cacert", "", "comma-separated PEM files of trusted CAs")
	direct := flag.Bool("direct", false, "ignore the proxy variables")
	timeout := flag.Duration("timeout", 5*time.Second, "whole request timeout")
	flag.Parse()

	pool := x509.NewCertPool()
	for _, file := range strings.Split(*cacert, ",") {
		if file == "" {
			continue
		}
		pem, err := os.ReadFile(file)
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			fmt.Printf("ERROR cannot read CA file %s: %v\n", file, err)
			os.Exit(2)
		}
	}
	transport := &http.Transport{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}
	if *direct {
		transport.Proxy = nil
	}
	client := &http.Client{Transport: transport, Timeout: *timeout}
	response, err := client.Get(*url)
	if err != nil {
		fmt.Printf("ERROR %v\n", err)
		os.Exit(1)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	fmt.Printf("STATUS %d\n%s", response.StatusCode, body)
}
