package sandbox

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"ferry/embedded"
)

// Archiving, as Cloud does it (v1 spec, POST /content/archive; marked
// experimental): a call names at most 300 pages, none already archived;
// it answers 202 with a task id and archives them asynchronously, the task
// read at GET /longtask/{id}; one archival job runs per tenant at a time,
// and a call while one runs is refused with 400.

// maxArchive is the most pages one archive call may name (v1 spec).
const maxArchive = 300

// archiveJob is an archival task.
type archiveJob struct {
	id       string
	started  time.Time
	pages    []string
	finished bool
	failed   string
}

func (s *Server) archivePages(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Pages []struct {
			ID int64 `json:"id"`
		} `json:"pages"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if len(req.Pages) == 0 || len(req.Pages) > maxArchive {
		writeV1Error(w, http.StatusBadRequest, "Name 1 to "+strconv.Itoa(maxArchive)+" pages to archive, not "+strconv.Itoa(len(req.Pages)))
		return
	}
	var ids []string
	for _, p := range req.Pages {
		id, ok := s.one(`SELECT id FROM content WHERE rowid = ? AND type = 'page' AND deleted_rev IS NULL`, p.ID)
		if !ok {
			writeV1Error(w, http.StatusBadRequest, "No page with id "+strconv.FormatInt(p.ID, 10))
			return
		}
		if status, _ := s.one(`SELECT status FROM content WHERE id = ?`, id); status == "archived" {
			writeV1Error(w, http.StatusBadRequest, "Page "+strconv.FormatInt(p.ID, 10)+" is already archived")
			return
		}
		ids = append(ids, id)
	}
	s.mu.Lock()
	for _, j := range s.archiveJobs {
		if !j.finished {
			s.mu.Unlock()
			writeV1Error(w, http.StatusBadRequest, "An archival job is already running for this site: try again when it has finished")
			return
		}
	}
	job := &archiveJob{id: strconv.Itoa(len(s.archiveJobs) + 1), started: s.Clock.Now(), pages: ids}
	s.archiveJobs = append(s.archiveJobs, job)
	s.mu.Unlock()
	// The job takes ArchiveTime (on the sandbox's clock), then archives.
	bg := r.WithContext(context.Background()) // the job outlives the request
	time.AfterFunc(s.Clock.Real(s.archiveTime()), func() {
		err := s.update(bg, func(tx *embedded.Tx) error {
			for _, id := range job.pages {
				if err := tx.SetContentStatus(id, "archived"); err != nil {
					return err
				}
			}
			return nil
		})
		s.mu.Lock()
		job.finished = true
		if err != nil {
			job.failed = err.Error()
		}
		s.hiddenCache = nil
		s.mu.Unlock()
	})
	writeJSONStatus(w, http.StatusAccepted, map[string]any{"id": job.id, "links": map[string]any{"status": "/rest/api/longtask/" + job.id}})
}

// archiveTime is how long an archival job takes.
func (s *Server) archiveTime() time.Duration {
	if s.ArchiveTime > 0 {
		return s.ArchiveTime
	}
	return 3 * time.Second
}

// longTask answers a task's status (v1 LongTaskStatusWithLinks).
func (s *Server) longTask(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var job *archiveJob
	for _, j := range s.archiveJobs {
		if j.id == r.PathValue("id") {
			job = j
		}
	}
	var finished bool
	var failed string
	var started time.Time
	if job != nil {
		finished, failed, started = job.finished, job.failed, job.started
	}
	s.mu.Unlock()
	if job == nil {
		writeV1Error(w, http.StatusNotFound, "No task with id "+r.PathValue("id"))
		return
	}
	elapsed := s.Clock.Now().Sub(started)
	percent := min(99, int(100*elapsed/s.archiveTime()))
	messages := []any{}
	if finished {
		percent = 100
	}
	if failed != "" {
		messages = append(messages, map[string]any{"translation": failed, "args": []any{}})
	}
	writeJSON(w, map[string]any{"id": job.id, "name": map[string]any{"key": "com.atlassian.confluence.pages.archive", "args": []any{}},
		"elapsedTime": elapsed.Milliseconds(), "percentageComplete": percent, "successful": finished && failed == "", "finished": finished,
		"messages": messages, "_links": map[string]any{"base": siteBase(r), "context": "/wiki", "self": siteBase(r) + "/rest/api/longtask/" + job.id}})
}
