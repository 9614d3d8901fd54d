package cdc

import (
	"testing"

	"github.com/cachegen/cachegen/internal/testenv"
)

func testenvPostgresCDC(t *testing.T) string { return testenv.PostgresCDCDSN(t) }
func testenvMySQLCDC(t *testing.T) string    { return testenv.MySQLCDCDSN(t) }
