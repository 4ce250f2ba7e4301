package audit

import (
	"testing"

	"github.com/kubeharden/kubeharden/internal/checktest"
)

func TestFixtures(t *testing.T) { checktest.Run(t, Checks()) }
