package nominations_test

import (
	"testing"

	"github.com/verkosto/verkosto/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
