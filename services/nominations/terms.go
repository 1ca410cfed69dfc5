package nominations

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
)

// TermJob is the nominations service's term management. Each run, as the
// system:
//
//   - closes OPEN requests whose nomination deadline passed (CLOSED,
//     representation_request.closed);
//   - sends nomination.term_ending for every CONFIRMED nomination whose term
//     ends within the notice (setting nominations.term_notice, default 720h),
//     once: the time it was sent is recorded on the nomination;
//   - ends every CONFIRMED nomination whose term has ended (ENDED,
//     END_REASON_TERM_ENDED, nomination.ended at the term's end).
//
// The service runs it at start and then every nominations.term_job_interval
// (default 24h). Every step locks the request row and then the nomination's,
// and checks again, so concurrent runs (several replicas, a test calling
// RunOnce) never send a notice twice or end a term twice.
type TermJob struct {
	s *Service
}

// TermJobReport counts what one run did.
type TermJobReport struct {
	Closed, Notified, Ended int
}

// NewTermJob builds the term job on deps (pool, clock, settings, logger),
// for running it directly, as tests do with an injected clock.
func NewTermJob(deps app.Deps) (*TermJob, error) {
	s, err := newService(deps)
	if err != nil {
		return nil, err
	}
	return &TermJob{s: s}, nil
}

// Run runs the job now and then every interval until ctx ends. A failed run
// is logged and tried again after a minute (or the interval, if shorter).
func (j *TermJob) Run(ctx context.Context) error {
	for {
		wait := j.s.interval
		report, err := j.RunOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			j.s.logger.Error("term job failed; will retry", "err", err)
			wait = min(wait, time.Minute)
		case report != TermJobReport{}:
			j.s.logger.Info("term job", "closed_requests", report.Closed, "term_ending_notices", report.Notified, "ended_terms", report.Ended)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// RunOnce runs the job once, at the service clock's now.
func (j *TermJob) RunOnce(ctx context.Context) (TermJobReport, error) {
	s := j.s
	ctx = auth.WithPrincipal(ctx, auth.System)
	var report TermJobReport
	var errs []error
	closed, err := s.closeExpired(ctx, "")
	report.Closed = closed
	errs = append(errs, err)

	now := s.now()
	notices, err := s.due(ctx, `term_ending_notice_time IS NULL AND term_end > $1 AND term_end <= $2`, now, now.Add(s.notice))
	errs = append(errs, err)
	for _, d := range notices {
		sent, err := s.sendTermEnding(ctx, d)
		if sent {
			report.Notified++
		}
		errs = append(errs, err)
	}
	ends, err := s.due(ctx, `term_end <= $1`, now)
	errs = append(errs, err)
	for _, d := range ends {
		ended, err := s.endTerm(ctx, d)
		if ended {
			report.Ended++
		}
		errs = append(errs, err)
	}
	return report, errors.Join(errs...)
}

// dueNomination is a CONFIRMED nomination the job has work for.
type dueNomination struct{ id, requestID string }

func (s *Service) due(ctx context.Context, where string, args ...any) ([]dueNomination, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text, request_id::text FROM nominations.nominations
		WHERE state = 'CONFIRMED' AND `+where+` ORDER BY term_end, id`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (dueNomination, error) {
		var d dueNomination
		return d, r.Scan(&d.id, &d.requestID)
	})
}

// sendTermEnding records and publishes the notice of one nomination, unless
// a concurrent run did or the nomination changed meanwhile.
func (s *Service) sendTermEnding(ctx context.Context, d dueNomination) (sent bool, err error) {
	err = s.write(ctx, func(tx pgx.Tx) ([]change, error) {
		sent = false
		if _, err := s.getRequest(ctx, tx, d.requestID, forUpdate); err != nil {
			return nil, err
		}
		n, err := getNomination(ctx, tx, d.id, forUpdate)
		if err != nil {
			return nil, err
		}
		now := s.now()
		end := n.GetTermEndTime().AsTime()
		if n.GetState() != nominationConfirmed || n.GetTermEndingNoticeTime() != nil || !end.After(now) || !s.termEnding(end) {
			return nil, nil
		}
		if _, err := tx.Exec(ctx, `UPDATE nominations.nominations SET term_ending_notice_time = $2, update_time = $2,
			version = version + 1 WHERE id = $1`, d.id, now); err != nil {
			return nil, err
		}
		out, err := getNomination(ctx, tx, d.id, noLock)
		if err != nil {
			return nil, err
		}
		sent = true
		return []change{{ev: nominationEvent("term_ending", out), requestID: d.requestID, nominationID: d.id,
			from: "CONFIRMED", to: "CONFIRMED", note: "the term ends " + end.Format(time.RFC3339)}}, nil
	})
	return sent, err
}

// endTerm ends one nomination whose term has ended, at its term's end.
func (s *Service) endTerm(ctx context.Context, d dueNomination) (ended bool, err error) {
	err = s.write(ctx, func(tx pgx.Tx) ([]change, error) {
		ended = false
		if _, err := s.getRequest(ctx, tx, d.requestID, forUpdate); err != nil {
			return nil, err
		}
		n, err := getNomination(ctx, tx, d.id, forUpdate)
		if err != nil {
			return nil, err
		}
		end := n.GetTermEndTime().AsTime()
		if n.GetState() != nominationConfirmed || end.After(s.now()) {
			return nil, nil
		}
		c, err := s.end(ctx, tx, d.id, "TERM_ENDED", end, "")
		if err != nil {
			return nil, err
		}
		ended = true
		return []change{c}, nil
	})
	return ended, err
}
