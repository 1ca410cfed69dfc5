package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"connectrpc.com/connect"
	healthv1 "google.golang.org/grpc/health/grpc_health_v1"
)

const healthService = "grpc.health.v1.Health"

// healthHandler serves grpc.health.v1.Health/Check: SERVING when the backing
// servers answer, for the whole server ("") or one served service.
func healthHandler(services []string, ready func(context.Context) error) (string, http.Handler) {
	h := connect.NewUnaryHandlerSimple("/"+healthService+"/Check",
		func(ctx context.Context, req *healthv1.HealthCheckRequest) (*healthv1.HealthCheckResponse, error) {
			if req.GetService() != "" && !slices.Contains(services, req.GetService()) {
				return nil, connect.NewError(connect.CodeNotFound, errors.New("unknown service "+req.GetService()))
			}
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			status := healthv1.HealthCheckResponse_SERVING
			if err := ready(ctx); err != nil {
				status = healthv1.HealthCheckResponse_NOT_SERVING
			}
			return &healthv1.HealthCheckResponse{Status: status}, nil
		})
	return "/" + healthService + "/", h
}
