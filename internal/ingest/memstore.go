package ingest

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// MemoryStore is a Store in memory, for tests and local runs.
type MemoryStore struct {
	mu      sync.Mutex
	records map[string][]byte
	locks   map[string]memLock
	Now     func() time.Time
}

type memLock struct {
	owner string
	until time.Time
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: map[string][]byte{}, locks: map[string]memLock{}}
}

func (m *MemoryStore) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *MemoryStore) Get(_ context.Context, id string) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.records[id]
	if !ok {
		return nil, nil
	}
	var r Record
	return &r, json.Unmarshal(data, &r)
}

func (m *MemoryStore) Put(_ context.Context, rec *Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var stored int64
	if data, ok := m.records[rec.ID]; ok {
		var r Record
		json.Unmarshal(data, &r)
		stored = r.Version
	}
	if stored != rec.Version {
		return ErrConflict
	}
	rec.Version++
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	m.records[rec.ID] = data
	return nil
}

func (m *MemoryStore) Delete(_ context.Context, id string, version int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.records[id]
	if !ok {
		return nil
	}
	var r Record
	json.Unmarshal(data, &r)
	if r.Version != version {
		return ErrConflict
	}
	delete(m.records, id)
	return nil
}

func (m *MemoryStore) List(_ context.Context, bucket string) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for _, data := range m.records {
		var r Record
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, err
		}
		if r.Bucket == bucket {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (m *MemoryStore) Lock(_ context.Context, id, owner string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.locks[id]; ok && l.owner != owner && m.now().Before(l.until) {
		return ErrBusy
	}
	m.locks[id] = memLock{owner: owner, until: m.now().Add(ttl)}
	return nil
}

func (m *MemoryStore) Unlock(_ context.Context, id, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.locks[id]; ok && l.owner == owner {
		delete(m.locks, id)
	}
	return nil
}
