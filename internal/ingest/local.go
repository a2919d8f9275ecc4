package ingest

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stratolab/stratolab/internal/cloudcatalog"
)

// LocalFile is a file of a job folder on disk and its key under <job>/ in the upload bucket.
type LocalFile struct {
	Path string
	Key  string
	Size int64
}

// LocalJob is a job folder checked on disk.
type LocalJob struct {
	Entries []Entry
	// Files are the data files, then each manifest, then drop.json and entries.json: the order to
	// upload them in, so that a job is never complete before its data is.
	Files []LocalFile
	Bytes int64
}

// ValidateDir checks a job folder before anything is uploaded: entries.json, each <id>/manifest.csv,
// drop.json, and every listed file (present, the manifest's size, the checksum when given). It returns
// every problem at once, with files named relative to dir.
func ValidateDir(dir string) (*LocalJob, []Problem) {
	job := &LocalJob{}
	var probs []Problem
	var meta []LocalFile
	entriesPath := filepath.Join(dir, EntriesFile)
	data, err := os.ReadFile(entriesPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		probs = append(probs, Problem{File: EntriesFile, Message: err.Error()})
	default:
		var p []Problem
		job.Entries, p = ParseEntries(data)
		probs = append(probs, p...)
		meta = append(meta, LocalFile{Path: entriesPath, Key: EntriesFile, Size: int64(len(data))})
	}
	var dropFile []LocalFile
	if data, err := os.ReadFile(filepath.Join(dir, DropFile)); err == nil {
		_, p := ParseDrops(data)
		probs = append(probs, p...)
		dropFile = append(dropFile, LocalFile{Path: filepath.Join(dir, DropFile), Key: DropFile, Size: int64(len(data))})
	} else if job.Entries == nil && len(probs) == 0 {
		probs = append(probs, Problem{File: EntriesFile, Message: "not found (a job needs entries.json, drop.json or both)"})
	}
	var manifests []LocalFile
	for _, e := range job.Entries {
		if !cloudcatalog.IDRe.MatchString(e.ID) {
			continue
		}
		name := e.ID + "/" + ManifestFile
		mpath := filepath.Join(dir, e.ID, ManifestFile)
		f, err := os.Open(mpath)
		if err != nil {
			probs = append(probs, Problem{File: name, Message: "not found (each entry needs <id>/manifest.csv beside its files)"})
			continue
		}
		files, p := ParseManifest(f, name)
		st, _ := f.Stat()
		f.Close()
		probs = append(probs, p...)
		manifests = append(manifests, LocalFile{Path: mpath, Key: name, Size: st.Size()})
		for _, mf := range files {
			path := filepath.Join(dir, e.ID, filepath.FromSlash(mf.Key))
			st, err := os.Stat(path)
			switch {
			case err != nil:
				probs = append(probs, Problem{File: name, Line: mf.Line, Message: fmt.Sprintf("%s: NOT_FOUND (%s)", mf.Key, path)})
				continue
			case !st.Mode().IsRegular():
				probs = append(probs, Problem{File: name, Line: mf.Line, Message: fmt.Sprintf("%s: is not a regular file", mf.Key)})
				continue
			case st.Size() != mf.Size:
				probs = append(probs, Problem{File: name, Line: mf.Line, Message: fmt.Sprintf("%s: WRONG_SIZE: %d bytes on disk, the manifest says %d", mf.Key, st.Size(), mf.Size)})
				continue
			}
			if mf.Checksum != "" {
				if got, err := checksumFile(path, mf.ChecksumAlgorithm); err != nil {
					probs = append(probs, Problem{File: name, Line: mf.Line, Message: fmt.Sprintf("%s: %v", mf.Key, err)})
				} else if !strings.EqualFold(got, mf.Checksum) {
					probs = append(probs, Problem{File: name, Line: mf.Line, Message: fmt.Sprintf("%s: BAD_CHECKSUM: %s %s, the manifest says %s", mf.Key, mf.ChecksumAlgorithm, got, mf.Checksum)})
				}
			}
			job.Files = append(job.Files, LocalFile{Path: path, Key: e.ID + "/" + mf.Key, Size: mf.Size})
			job.Bytes += mf.Size
		}
	}
	job.Files = append(append(append(job.Files, manifests...), dropFile...), meta...)
	return job, probs
}

func checksumFile(path, algo string) (string, error) {
	var h hash.Hash
	switch algo {
	case "md5":
		h = md5.New()
	case "sha1":
		h = sha1.New()
	case "sha256":
		h = sha256.New()
	case "crc32":
		h = crc32.NewIEEE()
	case "crc32c":
		h = crc32.New(crc32.MakeTable(crc32.Castagnoli))
	default:
		return "", fmt.Errorf("checksum_algorithm %q is not one of %s", algo, strings.Join(ChecksumAlgorithms, ", "))
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// MaxKeyBytes is S3's limit on an object key: 1,024 bytes of UTF-8 (Amazon S3 User Guide, "Naming
// Amazon S3 objects").
const MaxKeyBytes = 1024

// UploadKeyProblems reports the files whose upload key, <job>/<dataset>/<key>, S3 would refuse as too
// long: a manifest key may be 900 bytes, but the job's and the dataset's names come before it.
func UploadKeyProblems(job string, lj *LocalJob) []Problem {
	var probs []Problem
	for _, f := range lj.Files {
		// The uploader policy (constructs/registry newUploaderPolicy, NoWorkflowFiles) denies s3:PutObject
		// on <upload>/*/report.json and <upload>/*/.work/*, the workflow's own files, so that nobody can
		// forge a report or a copy list. In an IAM resource ARN * also matches "/" (IAM User Guide,
		// "IAM JSON policy elements: Resource"), so the deny reaches such names at every depth: refused
		// here, before anything is sent, rather than an AccessDenied half-way through the upload.
		parts := strings.Split(f.Key, "/")
		if parts[len(parts)-1] == ReportFile || slices.Contains(parts[:len(parts)-1], strings.TrimSuffix(WorkDir, "/")) {
			probs = append(probs, Problem{File: f.Key, Message: fmt.Sprintf("a file named %s, or one in a folder named %s, is where the ingest workflow writes its own files, and the uploader policy refuses it (rename the file or the folder)", ReportFile, strings.TrimSuffix(WorkDir, "/"))})
		}
		if k := job + "/" + f.Key; len(k) > MaxKeyBytes {
			probs = append(probs, Problem{File: f.Key, Message: fmt.Sprintf("its upload key %s/... is %d bytes; S3 keys are at most %d (shorten the key, the dataset id or the job name)", job, len(k), MaxKeyBytes)})
		}
	}
	return probs
}
