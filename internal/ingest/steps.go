package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/stratolab/stratolab/internal/cloudcatalog"
)

// JobInput starts the workflow: a job name, or the key of its marker object (as EventBridge passes it).
type JobInput struct {
	Job    string `json:"job,omitempty"`
	Marker string `json:"marker,omitempty"`
}

// CopyItem is one server-side copy: from the upload bucket's Src to Bucket/Key, the whole object or,
// when Upload is set, one part of a multipart copy.
type CopyItem struct {
	Src    string `json:"s"`
	Bucket string `json:"b"`
	Key    string `json:"k"`
	// Size is the bytes this item copies (the part's, for a part).
	Size int64 `json:"z"`
	// Upload is the multipart copy's position (from 1) in multipart.json; 0 for a whole object.
	Upload int   `json:"u,omitempty"`
	Part   int32 `json:"p,omitempty"`
	Offset int64 `json:"o,omitempty"`
}

// ValidateOutput is what Validate passes on.
type ValidateOutput struct {
	Job string `json:"job"`
	OK  bool   `json:"ok"`
	// UploadBucket holds the copy list.
	UploadBucket string `json:"upload_bucket"`
	// CopyList is the key, in the upload bucket, of the JSON list of CopyItems the Distributed Map reads.
	CopyList string `json:"copy_list"`
	Files    int    `json:"files"`
	Bytes    int64  `json:"bytes"`
	Problems int    `json:"problems"`
	// Batches is how many copy batches copies.json holds; Multipart how many files are copied in parts.
	Batches   int `json:"batches"`
	Multipart int `json:"multipart"`
}

// StepStats is what each step keeps in <job>/.work/<step>.json for the report.
type StepStats struct {
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	Files      int       `json:"files,omitempty"`
	Bytes      int64     `json:"bytes,omitempty"`
	Unverified int       `json:"unverified_checksums,omitempty"`
	Problems   []Problem `json:"problems,omitempty"`
	Datasets   []string  `json:"datasets,omitempty"`
	Buckets    []string  `json:"buckets,omitempty"`
	Dropped    int       `json:"files_dropped,omitempty"`
}

func (in JobInput) job() (string, error) {
	job := in.Job
	if job == "" && in.Marker != "" {
		i := strings.LastIndexByte(in.Marker, '/')
		if i < 0 {
			return "", fmt.Errorf("marker %q is not <job>/%s", in.Marker, MarkerFile)
		}
		job = in.Marker[:i]
	}
	return job, CheckJob(job)
}

// jobData is a job read from the upload bucket.
type jobData struct {
	entries []Entry
	files   map[string][]File
	drops   []Drop
}

func (r *Runner) readJob(ctx context.Context, job string) (*jobData, []Problem, error) {
	var probs []Problem
	d := &jobData{files: map[string][]File{}}
	data, err := r.get(ctx, r.Config.UploadBucket, job+"/"+EntriesFile)
	switch {
	case isNotFound(err):
		// A job may only retract.
	case err != nil:
		return nil, nil, err
	default:
		var p []Problem
		d.entries, p = ParseEntries(data)
		probs = append(probs, p...)
	}
	data, err = r.get(ctx, r.Config.UploadBucket, job+"/"+DropFile)
	switch {
	case isNotFound(err):
	case err != nil:
		return nil, nil, err
	default:
		var p []Problem
		d.drops, p = ParseDrops(data)
		probs = append(probs, p...)
	}
	if d.entries == nil && d.drops == nil && len(probs) == 0 {
		probs = append(probs, Problem{File: EntriesFile, Message: fmt.Sprintf("not found under s3://%s/%s/ (and no %s): nothing to do", r.Config.UploadBucket, job, DropFile)})
	}
	for _, e := range d.entries {
		if !cloudcatalog.IDRe.MatchString(e.ID) {
			continue
		}
		name := e.ID + "/" + ManifestFile
		body, err := r.getStream(ctx, r.Config.UploadBucket, job+"/"+name)
		if isNotFound(err) {
			probs = append(probs, Problem{File: name, Message: "not found (each entry needs <id>/manifest.csv beside its files)"})
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		files, p := ParseManifest(body, name)
		body.Close()
		d.files[e.ID] = files
		probs = append(probs, p...)
	}
	return d, probs, nil
}

// Validate checks the whole job before anything is copied: entries.json, every manifest, drop.json,
// and every file (present, the manifest's size, the checksum when given: from one listing of the job
// folder, plus a HEAD for each SHA-256 row). With any problem it
// writes report.json (every problem) and returns OK false; otherwise it writes the copy list.
func (r *Runner) Validate(ctx context.Context, in JobInput) (*ValidateOutput, error) {
	job, err := in.job()
	if err != nil {
		return nil, err
	}
	st := StepStats{Started: r.now()}
	d, probs, err := r.readJob(ctx, job)
	if err != nil {
		return nil, err
	}
	// One listing of the job folder gives every upload's size and ETag (1,000 per request); only rows
	// with a SHA-256 checksum need a HEAD each.
	var expected []string
	for id, files := range d.files {
		for _, f := range files {
			expected = append(expected, job+"/"+id+"/"+f.Key)
		}
	}
	listed, err := r.listJob(ctx, job, expected)
	if err != nil {
		return nil, err
	}
	var items []CopyItem
	var mu sync.Mutex
	sem := make(chan struct{}, r.headConcurrency())
	var wg sync.WaitGroup
	var unverified atomic.Int64
	for _, e := range d.entries {
		bucket, prefix, err := cloudcatalog.SplitIndex(e.Index)
		if err != nil {
			continue // already a problem
		}
		if _, ok := r.bucket(bucket); !ok {
			probs = append(probs, Problem{File: EntriesFile, Message: fmt.Sprintf("%s: index bucket %s is not one of this registry's dataset buckets (%s)", e.ID, bucket, strings.Join(r.bucketNames(), ", "))})
			continue
		}
		if prefix == "" {
			probs = append(probs, Problem{File: EntriesFile, Message: fmt.Sprintf("%s: index %s is a bucket root; give the dataset a folder such as s3://%s/%s/", e.ID, e.Index, bucket, e.ID)})
			continue
		}
		if rec, err := r.Store.Get(ctx, e.ID); err != nil {
			return nil, err
		} else if rec != nil && (rec.Bucket != bucket || rec.Prefix != prefix) {
			probs = append(probs, Problem{File: EntriesFile, Message: fmt.Sprintf("%s: the dataset is already registered at s3://%s/%s; retract it first (drop.json with all: true) to move it", e.ID, rec.Bucket, rec.Prefix)})
			continue
		}
		name := e.ID + "/" + ManifestFile
		for _, f := range d.files[e.ID] {
			if len(prefix+f.Key) > MaxKeyBytes {
				probs = append(probs, Problem{File: name, Line: f.Line, Message: fmt.Sprintf("the dataset key s3://%s/%s%s is %d bytes; S3 keys are at most %d (shorten the key or the index prefix)", bucket, prefix, f.Key, len(prefix+f.Key), MaxKeyBytes)})
				continue
			}
			items = append(items, CopyItem{Src: job + "/" + e.ID + "/" + f.Key, Bucket: bucket, Key: prefix + f.Key, Size: f.Size})
			st.Bytes += f.Size
			key := job + "/" + e.ID + "/" + f.Key
			if o, ok := listed[key]; !ok || f.ChecksumAlgorithm != "sha256" {
				p, unv := r.checkListed(key, f, o, ok)
				if unv {
					unverified.Add(1)
				}
				if p != "" {
					probs = append(probs, Problem{File: name, Line: f.Line, Message: p})
				}
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func(f File) {
				defer func() { <-sem; wg.Done() }()
				p, unv := r.checkFile(ctx, key, f)
				if unv {
					unverified.Add(1)
				}
				if p != "" {
					mu.Lock()
					probs = append(probs, Problem{File: name, Line: f.Line, Message: p})
					mu.Unlock()
				}
			}(f)
		}
	}
	wg.Wait()
	probs = append(probs, r.checkDrops(ctx, d)...)
	sort.SliceStable(probs, func(i, j int) bool {
		if probs[i].File != probs[j].File {
			return probs[i].File < probs[j].File
		}
		return probs[i].Line < probs[j].Line
	})
	st.Files, st.Problems, st.Unverified = len(items), probs, int(unverified.Load())
	for _, e := range d.entries {
		st.Datasets = append(st.Datasets, e.ID)
	}
	st.Finished = r.now()
	out := &ValidateOutput{Job: job, UploadBucket: r.Config.UploadBucket, OK: len(probs) == 0, Files: len(items), Bytes: st.Bytes, Problems: len(probs), CopyList: job + "/" + WorkDir + "copies.json"}
	if out.OK {
		plan := PlanCopies(items, r.limits())
		if plan.Batches == nil {
			plan.Batches = []CopyInput{}
		}
		if plan.Multipart == nil {
			plan.Multipart = []Multipart{}
		}
		out.Batches, out.Multipart = len(plan.Batches), len(plan.Multipart)
		if err := r.putJSON(ctx, r.Config.UploadBucket, job+"/"+WorkDir+"multipart.json", plan.Multipart); err != nil {
			return nil, err
		}
		if err := r.putJSON(ctx, r.Config.UploadBucket, out.CopyList, plan.Batches); err != nil {
			return nil, err
		}
	}
	if err := r.putJSON(ctx, r.Config.UploadBucket, job+"/"+WorkDir+"validate.json", st); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *Runner) bucketNames() []string {
	var out []string
	for _, b := range r.Config.Buckets {
		out = append(out, b.Name)
	}
	return out
}

type listedObject struct {
	size int64
	etag string
}

// listLanes is how many listings of a job folder run at once (each of a range of its keys), one lane
// per listLaneKeys expected keys.
const listLanes = 16

var listLaneKeys = 5000

// listJob lists the job folder: in listLanes ranges at once, cut at the manifests' keys (sorted, as S3
// lists them: UTF-8 binary order), so that a million files are 1,000 pages in 16 lanes rather than
// one after another.
func (r *Runner) listJob(ctx context.Context, job string, expected []string) (map[string]listedObject, error) {
	slices.Sort(expected)
	lanes := min(listLanes, len(expected)/listLaneKeys+1)
	// Lane i holds the keys in (cut[i], cut[i+1]]; "" is the folder's start and its end.
	cuts := make([]string, lanes+1)
	for i := 1; i < lanes; i++ {
		cuts[i] = expected[i*len(expected)/lanes-1]
	}
	found := make([]map[string]listedObject, lanes)
	err := r.each(ctx, lanes, func(ctx context.Context, i int) error {
		out := map[string]listedObject{}
		in := &s3.ListObjectsV2Input{Bucket: aws.String(r.Config.UploadBucket), Prefix: aws.String(job + "/")}
		if cuts[i] != "" {
			in.StartAfter = aws.String(cuts[i])
		}
		last := cuts[i+1]
		p := s3.NewListObjectsV2Paginator(r.S3, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("list s3://%s/%s/: %w", r.Config.UploadBucket, job, err)
			}
			for _, o := range page.Contents {
				k := aws.ToString(o.Key)
				if last != "" && k > last {
					found[i] = out
					return nil
				}
				out[k] = listedObject{size: aws.ToInt64(o.Size), etag: strings.Trim(aws.ToString(o.ETag), `"`)}
			}
		}
		found[i] = out
		return nil
	})
	if err != nil {
		return nil, err
	}
	all := found[0]
	for _, m := range found[1:] {
		for k, v := range m {
			all[k] = v
		}
	}
	return all, nil
}

// checkListed compares an upload, as the listing saw it, with its manifest row: presence, size, and
// an MD5 checksum against a single-part upload's ETag. It returns a problem ("" if none) and whether
// a checksum was given but could not be verified.
func (r *Runner) checkListed(key string, f File, o listedObject, found bool) (string, bool) {
	switch {
	case !found:
		return fmt.Sprintf("%s: not uploaded (NOT_FOUND at s3://%s/%s)", f.Key, r.Config.UploadBucket, key), false
	case o.size != f.Size:
		return fmt.Sprintf("%s: WRONG_SIZE: %d bytes uploaded, the manifest says %d", f.Key, o.size, f.Size), false
	case f.Checksum == "":
		return "", false
	case f.ChecksumAlgorithm != "md5" || strings.Contains(o.etag, "-") || r.Config.UploadKMS:
		return "", true // a multipart upload's ETag, or an SSE-KMS object's, is not the MD5 of the file
	case o.etag != strings.ToLower(f.Checksum):
		return fmt.Sprintf("%s: BAD_CHECKSUM: md5 %s, the manifest says %s", f.Key, o.etag, strings.ToLower(f.Checksum)), false
	}
	return "", false
}

// checkFile HEADs one upload and compares it with its manifest row; it returns a problem ("" if none)
// and whether a checksum was given but could not be verified.
func (r *Runner) checkFile(ctx context.Context, key string, f File) (string, bool) {
	head, err := r.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.Config.UploadBucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if isNotFound(err) {
		return fmt.Sprintf("%s: not uploaded (NOT_FOUND at s3://%s/%s)", f.Key, r.Config.UploadBucket, key), false
	}
	if err != nil {
		return fmt.Sprintf("%s: cannot read it: %v", f.Key, err), false
	}
	if size := aws.ToInt64(head.ContentLength); size != f.Size {
		return fmt.Sprintf("%s: WRONG_SIZE: %d bytes uploaded, the manifest says %d", f.Key, size, f.Size), false
	}
	if f.Checksum == "" {
		return "", false
	}
	want := strings.ToLower(f.Checksum)
	switch f.ChecksumAlgorithm {
	case "md5":
		etag := strings.Trim(aws.ToString(head.ETag), `"`)
		if strings.Contains(etag, "-") || r.Config.UploadKMS {
			return "", true // a multipart upload's ETag, or an SSE-KMS object's, is not the MD5 of the file
		}
		if etag != want {
			return fmt.Sprintf("%s: BAD_CHECKSUM: md5 %s, the manifest says %s", f.Key, etag, want), false
		}
		return "", false
	case "sha256":
		got := aws.ToString(head.ChecksumSHA256)
		if got == "" || strings.Contains(got, "-") {
			return "", true
		}
		raw, _ := base64.StdEncoding.DecodeString(got)
		if hex.EncodeToString(raw) != want && got != f.Checksum {
			return fmt.Sprintf("%s: BAD_CHECKSUM: sha256 %s, the manifest says %s", f.Key, hex.EncodeToString(raw), want), false
		}
		return "", false
	}
	return "", true
}

func (r *Runner) checkDrops(ctx context.Context, d *jobData) []Problem {
	var probs []Problem
	if len(d.drops) > 0 && !r.Config.AllowRetraction {
		return []Problem{{File: DropFile, Message: "retraction is off for this registry (registry.allow_retraction: true allows it)"}}
	}
	for i, dr := range d.drops {
		rec, err := r.Store.Get(ctx, dr.ID)
		if err != nil {
			probs = append(probs, Problem{File: DropFile, Message: fmt.Sprintf("entry %d (%s): %v", i, dr.ID, err)})
			continue
		}
		if rec == nil {
			probs = append(probs, Problem{File: DropFile, Message: fmt.Sprintf("entry %d: dataset %q is not registered", i, dr.ID)})
		}
		if dr.All && slices.ContainsFunc(d.entries, func(e Entry) bool { return e.ID == dr.ID }) {
			probs = append(probs, Problem{File: DropFile, Message: fmt.Sprintf("entry %d: dataset %q is both dropped and in %s", i, dr.ID, EntriesFile)})
		}
	}
	return probs
}

// CopyInput is one Distributed Map item: a batch that PlanCopies sized to fit one invocation.
type CopyInput struct {
	Items []CopyItem `json:"Items"`
}

// CopyOutput counts what a batch copied.
type CopyOutput struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Copy copies a batch server-side, in parallel: whole objects with CopyObject, parts with
// UploadPartCopy. Copies are idempotent, so the workflow retries a failed batch whole.
func (r *Runner) Copy(ctx context.Context, in CopyInput) (*CopyOutput, error) {
	var uploads []string
	for _, it := range in.Items {
		if it.Upload > 0 {
			ids, err := r.readUploads(ctx, jobOf(it.Src))
			if err != nil {
				return nil, err
			}
			uploads = ids
			break
		}
	}
	var bytes atomic.Int64
	var files atomic.Int64
	err := r.each(ctx, len(in.Items), func(ctx context.Context, i int) error {
		it := in.Items[i]
		if err := r.copyOne(ctx, it, uploads); err != nil {
			what := "copy"
			if it.Upload > 0 {
				what = fmt.Sprintf("copy part %d of", it.Part)
			}
			return fmt.Errorf("%s s3://%s/%s to s3://%s/%s: %w", what, r.Config.UploadBucket, it.Src, it.Bucket, it.Key, err)
		}
		bytes.Add(it.Size)
		if it.Upload == 0 {
			files.Add(1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &CopyOutput{Files: int(files.Load()), Bytes: bytes.Load()}, nil
}

// jobOf is the job of an upload key (<job>/<id>/<key>).
func jobOf(src string) string {
	job, _, _ := strings.Cut(src, "/")
	return job
}

func (r *Runner) copyOne(ctx context.Context, it CopyItem, uploads []string) error {
	src := copySource(r.Config.UploadBucket, it.Src)
	if it.Upload == 0 {
		_, err := r.S3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(it.Bucket), Key: aws.String(it.Key), CopySource: aws.String(src)})
		return err
	}
	if it.Upload > len(uploads) {
		return fmt.Errorf("no upload ID for multipart copy %d (uploads.json has %d)", it.Upload, len(uploads))
	}
	_, err := r.S3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket: aws.String(it.Bucket), Key: aws.String(it.Key), UploadId: aws.String(uploads[it.Upload-1]), PartNumber: aws.Int32(it.Part),
		CopySource: aws.String(src), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", it.Offset, it.Offset+it.Size-1)),
	})
	return err
}

// IndexOutput names the buckets whose catalogs must be rewritten.
type IndexOutput struct {
	Job     string   `json:"job"`
	Buckets []string `json:"buckets"`
}

// lockTTL bounds how long a crashed step can hold a dataset.
const lockTTL = 15 * time.Minute

// Index rebuilds, for every dataset of the job, the per-year index files it touches by merging the
// existing rows with the new ones (deduplicated on the datakey, sorted by start), applies drop.json,
// and writes the dataset's record with start, stop and modification recomputed from every year.
// Each dataset is locked while it is rebuilt; ErrBusy (another job has it) makes the workflow retry.
func (r *Runner) Index(ctx context.Context, in JobInput) (*IndexOutput, error) {
	job, err := in.job()
	if err != nil {
		return nil, err
	}
	st := StepStats{Started: r.now()}
	d, probs, err := r.readJob(ctx, job)
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("the job changed since it was validated: %s", probs[0])
	}
	drops := map[string]Drop{}
	for _, dr := range d.drops {
		drops[dr.ID] = dr
	}
	touched := map[string]bool{}
	ids := map[string]*Entry{}
	for i := range d.entries {
		ids[d.entries[i].ID] = &d.entries[i]
	}
	for id := range drops {
		if _, ok := ids[id]; !ok {
			ids[id] = nil
		}
	}
	for _, id := range slices.Sorted(mapKeys(ids)) {
		if err := r.Store.Lock(ctx, id, job, lockTTL); err != nil {
			return nil, err
		}
		bucket, n, dropped, err := r.indexDataset(ctx, job, id, ids[id], d.files[id], drops[id])
		r.Store.Unlock(context.WithoutCancel(ctx), id, job)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", id, err)
		}
		touched[bucket] = true
		st.Files += n
		st.Dropped += dropped
		st.Datasets = append(st.Datasets, id)
	}
	out := &IndexOutput{Job: job, Buckets: slices.Sorted(mapKeys(touched))}
	st.Buckets, st.Finished = out.Buckets, r.now()
	if out.Buckets == nil {
		out.Buckets = []string{}
	}
	return out, r.putJSON(ctx, r.Config.UploadBucket, job+"/"+WorkDir+"index.json", st)
}

func (r *Runner) indexDataset(ctx context.Context, job, id string, e *Entry, files []File, drop Drop) (bucket string, rows, dropped int, err error) {
	rec, err := r.Store.Get(ctx, id)
	if err != nil {
		return "", 0, 0, err
	}
	if rec == nil {
		if e == nil {
			return "", 0, 0, fmt.Errorf("not registered")
		}
		b, p, _ := cloudcatalog.SplitIndex(e.Index)
		rec = &Record{ID: id, Bucket: b, Prefix: p, Years: map[string]cloudcatalog.YearSummary{}}
	}
	if rec.Years == nil {
		rec.Years = map[string]cloudcatalog.YearSummary{}
	}
	datakey := func(k string) string { return "s3://" + rec.Bucket + "/" + rec.Prefix + k }
	added := make([]cloudcatalog.Row, 0, len(files))
	for _, f := range files {
		added = append(added, cloudcatalog.Row{Start: f.Start, Stop: f.Stop, Key: datakey(f.Key), Size: f.Size, Checksum: f.Checksum, ChecksumAlgorithm: checksumAlgo(f)})
	}
	dropKeys := map[string]bool{}
	for _, k := range drop.Keys {
		dropKeys[datakey(k)] = true
	}
	newByYear := cloudcatalog.ByYear(added)
	years := map[int]bool{}
	for y := range newByYear {
		years[y] = true
	}
	if len(dropKeys) > 0 || drop.All {
		for y := range rec.Years {
			var yi int
			fmt.Sscan(y, &yi)
			years[yi] = true
		}
	}
	var deleteData []string
	for _, y := range slices.Sorted(mapKeys(years)) {
		key := cloudcatalog.IndexKey(rec.Prefix, id, y)
		existing, err := r.readIndex(ctx, rec.Bucket, key)
		if err != nil {
			return "", 0, 0, fmt.Errorf("read s3://%s/%s: %w", rec.Bucket, key, err)
		}
		yearDrop := dropKeys
		if drop.All {
			yearDrop = map[string]bool{}
			for _, row := range existing {
				yearDrop[row.Key] = true
			}
		}
		for _, row := range existing {
			if yearDrop[row.Key] {
				deleteData = append(deleteData, row.Key)
			}
		}
		merged := cloudcatalog.Merge(existing, newByYear[y], yearDrop)
		ys := fmt.Sprintf("%04d", y)
		if len(merged) == 0 {
			if len(existing) > 0 {
				if _, err := r.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(rec.Bucket), Key: aws.String(key)}); err != nil {
					return "", 0, 0, err
				}
			}
			delete(rec.Years, ys)
			continue
		}
		var buf bytes.Buffer
		if err := cloudcatalog.WriteIndex(&buf, merged); err != nil {
			return "", 0, 0, err
		}
		if _, err := r.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(rec.Bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes()),
			ContentType: aws.String("text/csv")}); err != nil {
			return "", 0, 0, fmt.Errorf("write s3://%s/%s: %w", rec.Bucket, key, err)
		}
		rec.Years[ys] = cloudcatalog.Summarize(merged)
	}
	for i := 0; i < len(deleteData); i += 1000 {
		var objs []types.ObjectIdentifier
		for _, k := range deleteData[i:min(i+1000, len(deleteData))] {
			objs = append(objs, types.ObjectIdentifier{Key: aws.String(strings.TrimPrefix(k, "s3://"+rec.Bucket+"/"))})
		}
		if _, err := r.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(rec.Bucket), Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)}}); err != nil {
			return "", 0, 0, fmt.Errorf("retract files of %s: %w", id, err)
		}
	}
	if drop.All || len(rec.Years) == 0 {
		if rec.Version > 0 {
			if err := r.Store.Delete(ctx, id, rec.Version); err != nil {
				return "", 0, 0, err
			}
		}
		return rec.Bucket, len(added), len(deleteData), nil
	}
	if e != nil {
		rec.Entry = catalogEntry(*e)
	}
	rec.Entry.ID, rec.Entry.Index = id, "s3://"+rec.Bucket+"/"+rec.Prefix
	recompute(rec, r.now())
	rec.Job = job
	if err := r.Store.Put(ctx, rec); err != nil {
		return "", 0, 0, err
	}
	return rec.Bucket, len(added), len(deleteData), nil
}

func checksumAlgo(f File) string {
	if f.Checksum == "" {
		return ""
	}
	return f.ChecksumAlgorithm
}

func catalogEntry(e Entry) cloudcatalog.Entry {
	return cloudcatalog.Entry{ID: e.ID, Index: e.Index, Title: e.Title, IndexType: "csv", Description: e.Description, Resource: e.Resource,
		Creation: e.Creation, Expiration: e.Expiration, Verified: e.Verified, Citation: e.Citation, Contact: e.Contact, About: e.About}
}

// recompute sets a record's entry's start, stop, filetype and multiyear from every year, and its
// modification to now.
func recompute(rec *Record, now time.Time) {
	var start, stop string
	types := map[string]bool{}
	multi := false
	for _, y := range rec.Years {
		if start == "" || y.Start < start {
			start = y.Start
		}
		if y.Stop > stop {
			stop = y.Stop
		}
		for _, t := range y.FileTypes {
			types[t] = true
		}
		multi = multi || y.Multiyear
	}
	rec.Entry.Start, rec.Entry.Stop = start, stop
	rec.Entry.Modification = cloudcatalog.FormatTime(now)
	rec.Entry.FileType = strings.Join(slices.Sorted(mapKeys(types)), ",")
	rec.Entry.Multiyear = multi
	rec.Entry.IndexType = "csv"
}

func (r *Runner) readIndex(ctx context.Context, bucket, key string) ([]cloudcatalog.Row, error) {
	body, err := r.getStream(ctx, bucket, key)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return cloudcatalog.ParseIndex(body)
}

// CatalogInput names the buckets whose catalog.json to rewrite.
type CatalogInput struct {
	Job     string   `json:"job"`
	Buckets []string `json:"buckets"`
}

// Catalog rewrites catalog.json of each bucket from the records. Two jobs may finish at once: each
// write is conditional on the ETag read before the records were (If-Match, or If-None-Match: * for a
// first catalog), and a lost race reads and writes again, so the last write always holds every record.
func (r *Runner) Catalog(ctx context.Context, in CatalogInput) error {
	st := StepStats{Started: r.now(), Buckets: in.Buckets}
	for _, name := range in.Buckets {
		b, ok := r.bucket(name)
		if !ok {
			return fmt.Errorf("bucket %s is not a dataset bucket of this registry", name)
		}
		var err error
		for attempt := 0; attempt < 10; attempt++ {
			if err = r.writeCatalog(ctx, b); !errors.Is(err, ErrConflict) {
				break
			}
			time.Sleep(time.Duration(attempt*50) * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("catalog.json of %s: %w", name, err)
		}
	}
	st.Finished = r.now()
	if in.Job == "" {
		return nil
	}
	return r.putJSON(ctx, r.Config.UploadBucket, in.Job+"/"+WorkDir+"catalog.json", st)
}

// BuildCatalog is a bucket's catalog.json from its records.
func BuildCatalog(b Bucket, recs []Record) *cloudcatalog.Catalog {
	c := &cloudcatalog.Catalog{
		Version: cloudcatalog.Version, Endpoint: cloudcatalog.Endpoint(b.Name), Name: b.CatalogName, Region: b.Region,
		Egress: b.Egress(), Status: cloudcatalog.Status{Code: cloudcatalog.StatusOK, Message: "OK request successful"},
		Contact: b.Contact, Description: b.Description, Citation: b.Citation, Catalog: make([]cloudcatalog.Entry, 0, len(recs)),
	}
	for _, rec := range recs {
		c.Catalog = append(c.Catalog, rec.Entry)
	}
	return c
}

func (r *Runner) writeCatalog(ctx context.Context, b Bucket) error {
	in := &s3.PutObjectInput{Bucket: aws.String(b.Name), Key: aws.String("catalog.json"), ContentType: aws.String("application/json")}
	head, err := r.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.Name), Key: aws.String("catalog.json")})
	switch {
	case isNotFound(err):
		in.IfNoneMatch = aws.String("*")
	case err != nil:
		return err
	default:
		in.IfMatch = head.ETag
	}
	recs, err := r.Store.List(ctx, b.Name)
	if err != nil {
		return err
	}
	data, err := BuildCatalog(b, recs).Marshal()
	if err != nil {
		return err
	}
	in.Body = bytes.NewReader(data)
	_, err = r.S3.PutObject(ctx, in)
	if isPreconditionFailed(err) {
		return ErrConflict
	}
	return err
}

// ReportInput ends the workflow.
type ReportInput struct {
	Job string `json:"job"`
	// Marker is the marker's key when the marker started the job (Job is then empty).
	Marker string `json:"marker,omitempty"`
	// Status is succeeded or failed.
	Status string `json:"status"`
	// Error and Cause are a failed state's, when a step failed (not a validation).
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
	// Execution is the workflow execution's ARN.
	Execution string `json:"execution,omitempty"`
	Started   string `json:"started,omitempty"`
}

// Report is report.json.
type Report struct {
	Job       string   `json:"job"`
	Status    string   `json:"status"`
	Execution string   `json:"execution,omitempty"`
	Started   string   `json:"started,omitempty"`
	Finished  string   `json:"finished"`
	Seconds   float64  `json:"seconds,omitempty"`
	Files     int      `json:"files"`
	Bytes     int64    `json:"bytes"`
	Dropped   int      `json:"files_dropped,omitempty"`
	Datasets  []string `json:"datasets"`
	Buckets   []string `json:"buckets,omitempty"`
	// Error is the failure, "" for a success (always present: the workflow's event carries it).
	Error    string    `json:"error"`
	Problems []Problem `json:"problems"`
	// Location is where report.json is, as s3://bucket/key.
	Location string               `json:"location"`
	Steps    map[string]StepStats `json:"steps"`
	Deleted  int                  `json:"upload_objects_deleted,omitempty"`
}

// Report writes report.json from the steps' stats and, after a success only, deletes the job's
// uploads (everything under <job>/ but report.json).
func (r *Runner) Report(ctx context.Context, in ReportInput) (*Report, error) {
	job, jobErr := JobInput{Job: in.Job, Marker: in.Marker}.job()
	folder := job
	if jobErr != nil {
		// Validate failed on the job's name (a marker deeper than <job>/, say): report beside the
		// marker all the same, when there is a folder to report in.
		folder = strings.Trim(in.Job, "/")
		if i := strings.LastIndexByte(in.Marker, '/'); folder == "" && i > 0 {
			folder = in.Marker[:i]
		}
	}
	rep := &Report{Job: folder, Status: in.Status, Execution: in.Execution, Started: in.Started, Finished: cloudcatalog.FormatTime(r.now()), Steps: map[string]StepStats{}, Problems: []Problem{}, Datasets: []string{}}
	if folder != "" {
		rep.Location = "s3://" + r.Config.UploadBucket + "/" + folder + "/" + ReportFile
	}
	for _, step := range []string{"validate", "index", "catalog"} {
		if jobErr != nil {
			break
		}
		data, err := r.get(ctx, r.Config.UploadBucket, job+"/"+WorkDir+step+".json")
		if err != nil {
			continue
		}
		var st StepStats
		if json.Unmarshal(data, &st) == nil {
			rep.Steps[step] = st
		}
	}
	v := rep.Steps["validate"]
	rep.Files, rep.Bytes, rep.Problems = v.Files, v.Bytes, append(rep.Problems, v.Problems...)
	if v.Datasets != nil {
		rep.Datasets = v.Datasets
	}
	rep.Dropped, rep.Buckets = rep.Steps["index"].Dropped, rep.Steps["index"].Buckets
	if in.Error != "" {
		rep.Error = strings.TrimSpace(in.Error + ": " + lambdaMessage(in.Cause))
	}
	if in.Status != "succeeded" && rep.Error == "" {
		rep.Error = "failed"
	}
	if jobErr != nil {
		rep.Status = "failed"
		rep.Problems = append(rep.Problems, Problem{File: MarkerFile, Message: jobErr.Error()})
	}
	if s, err := time.Parse(time.RFC3339Nano, in.Started); err == nil {
		rep.Seconds = r.now().Sub(s).Seconds()
	}
	if rep.Status == "succeeded" {
		n, err := r.deleteUploads(ctx, job)
		if err != nil {
			return nil, err
		}
		rep.Deleted = n
	} else if jobErr == nil {
		// A failed job's multipart copies would hold their parts (up to 5 TiB each) until the
		// buckets' lifecycle aborts them; abort them now. A failure here is reported, not fatal.
		if err := r.abortMultipart(ctx, job); err != nil {
			rep.Problems = append(rep.Problems, Problem{File: WorkDir + "uploads.json", Message: "abort the multipart copies: " + err.Error()})
		}
	}
	if folder == "" {
		return rep, nil // nowhere to write it; the workflow's event still carries the error
	}
	return rep, r.putJSON(ctx, r.Config.UploadBucket, folder+"/"+ReportFile, rep)
}

// lambdaMessage is a failed Lambda task's errorMessage, when its Cause is the function's JSON error
// ({"errorMessage": ..., "errorType": ...}); otherwise the cause itself.
func lambdaMessage(cause string) string {
	var e struct {
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &e) == nil && e.Message != "" {
		return e.Message
	}
	return cause
}

func (r *Runner) deleteUploads(ctx context.Context, job string) (int, error) {
	n := 0
	p := s3.NewListObjectsV2Paginator(r.S3, &s3.ListObjectsV2Input{Bucket: aws.String(r.Config.UploadBucket), Prefix: aws.String(job + "/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, err
		}
		var objs []types.ObjectIdentifier
		for _, o := range page.Contents {
			if aws.ToString(o.Key) != job+"/"+ReportFile {
				objs = append(objs, types.ObjectIdentifier{Key: o.Key})
			}
		}
		if len(objs) == 0 {
			continue
		}
		if _, err := r.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(r.Config.UploadBucket), Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)}}); err != nil {
			return n, err
		}
		n += len(objs)
	}
	return n, nil
}

// ReadCopyList reads the batches Validate wrote (the Distributed Map reads them itself in a deployment).
func (r *Runner) ReadCopyList(ctx context.Context, key string) ([]CopyInput, error) {
	data, err := r.get(ctx, r.Config.UploadBucket, key)
	if err != nil {
		return nil, err
	}
	var batches []CopyInput
	return batches, json.Unmarshal(data, &batches)
}

// Run runs the workflow's steps in order in this process, as the state machine does in a deployment
// (batches of at most batchSize copies, one after another). It returns the report.
func (r *Runner) Run(ctx context.Context, job string, batchSize int) (*Report, error) {
	if batchSize > 0 && r.Limits == nil {
		l := DefaultLimits(batchSize)
		r.Limits = &l
	}
	started := cloudcatalog.FormatTime(r.now())
	fail := func(err error) (*Report, error) {
		rep, rerr := r.Report(ctx, ReportInput{Job: job, Status: "failed", Error: "Error", Cause: err.Error(), Started: started})
		if rerr != nil {
			return nil, rerr
		}
		return rep, err
	}
	// As the state machine's Catch on Validate does: any error of the step ends in a report.
	v, err := r.Validate(ctx, JobInput{Job: job})
	if err != nil {
		return fail(err)
	}
	if !v.OK {
		return r.Report(ctx, ReportInput{Job: job, Status: "failed", Error: "ValidationFailed", Cause: fmt.Sprintf("%d problem(s)", v.Problems), Started: started})
	}
	batches, err := r.ReadCopyList(ctx, v.CopyList)
	if err != nil {
		return fail(err)
	}
	if _, err := r.StartMultipart(ctx, CopyPhaseInput{Job: job}); err != nil {
		return fail(err)
	}
	for _, b := range batches {
		if _, err := r.Copy(ctx, b); err != nil {
			return fail(err)
		}
	}
	if _, err := r.CompleteMultipart(ctx, CopyPhaseInput{Job: job}); err != nil {
		return fail(err)
	}
	ix, err := r.Index(ctx, JobInput{Job: job})
	if err != nil {
		return fail(err)
	}
	if err := r.Catalog(ctx, CatalogInput{Job: job, Buckets: ix.Buckets}); err != nil {
		return fail(err)
	}
	return r.Report(ctx, ReportInput{Job: job, Status: "succeeded", Started: started})
}

func (r *Runner) get(ctx context.Context, bucket, key string) ([]byte, error) {
	body, err := r.getStream(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(body)
}

func (r *Runner) getStream(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	out, err := r.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	if n := aws.ToInt64(out.ContentLength); n > 0 {
		return sizedBody{out.Body, int(n)}, nil
	}
	return out.Body, nil
}

// sizedBody is an object's body that says its length, so that cloudcatalog.ReadAll reads it into one
// allocation.
type sizedBody struct {
	io.ReadCloser
	n int
}

func (b sizedBody) Len() int { return b.n }

func (r *Runner) putJSON(ctx context.Context, bucket, key string, v any) error {
	var data []byte
	var err error
	if strings.HasSuffix(key, "/"+WorkDir+"copies.json") {
		// A million files' copy list: compact (indenting would double it in the function's memory).
		data, err = json.Marshal(v)
	} else {
		data, err = json.MarshalIndent(v, "", "  ")
	}
	if err != nil {
		return err
	}
	_, err = r.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data), ContentType: aws.String("application/json")})
	if err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
}

func isNoSuchUpload(err error) bool {
	var nsu *types.NoSuchUpload
	var ae smithy.APIError
	return errors.As(err, &nsu) || errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload"
}

func isPreconditionFailed(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict")
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
