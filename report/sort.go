package report

import "sort"

// Sort orders the report the way every renderer shows it: objects by
// context, file, line and name; findings by object, line, column, check
// and message; errors and notices by file and line.
func (r *Report) Sort() {
	sortFindings(r.Findings)
	sortFindings(r.Suppressed)
	sort.SliceStable(r.Objects, func(i, j int) bool { return ObjectLess(r.Objects[i], r.Objects[j]) })
	sort.SliceStable(r.Errors, func(i, j int) bool {
		a, b := r.Errors[i], r.Errors[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	sort.SliceStable(r.Notices, func(i, j int) bool {
		a, b := r.Notices[i], r.Notices[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Message < b.Message
	})
}

// ObjectLess orders objects by context, file, line and name.
func ObjectLess(a, b *Object) bool {
	if a.Origin.Context != b.Origin.Context {
		return a.Origin.Context < b.Origin.Context
	}
	if a.Origin.File != b.Origin.File {
		return a.Origin.File < b.Origin.File
	}
	if a.Origin.Line != b.Origin.Line {
		return a.Origin.Line < b.Origin.Line
	}
	return a.Ref.String() < b.Ref.String()
}

// FindingLess orders findings by object, line, column, check and message.
func FindingLess(a, b *Finding) bool {
	if a.Object != b.Object {
		if ObjectLess(a.Object, b.Object) {
			return true
		}
		if ObjectLess(b.Object, a.Object) {
			return false
		}
	}
	if a.Location.Line != b.Location.Line {
		return a.Location.Line < b.Location.Line
	}
	if a.Location.Column != b.Location.Column {
		return a.Location.Column < b.Location.Column
	}
	if a.Check.ID != b.Check.ID {
		return a.Check.ID < b.Check.ID
	}
	return a.Message < b.Message
}

func sortFindings(fs []*Finding) {
	sort.SliceStable(fs, func(i, j int) bool { return FindingLess(fs[i], fs[j]) })
}
