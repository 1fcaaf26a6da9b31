#!/usr/bin/python3
"""The trainer's quality report: `evoc train` against the prototype and scikit-learn.

For every data set (each CSV of a folder, and the built-in tasks) and every seed: a numpy
RandomState(seed) permutation of the rows, the first 20% as test, the other 80% written as a
training CSV that `evoc train` is given (it makes its own validation split from them); the model
is scored on the test CSV with `evoc eval`. On the same rows: the prototype grow_ref.py (given the
whole file and the same seed: its permutation is the same, so its test rows are the same; it
validates on the next 20%), and scikit-learn's LogisticRegression / Ridge, MLP (64 hidden units)
and HistGradientBoosting on standardised features (the regression MLP on a standardised target).

With --ensemble K, a column for `evoc train --ensemble K` (K members on the same training rows, each
with its own validation fold, linked into one module; the default column's flags too) is added
after the default column, and the summary says on how many sets it is at least as good as the
default column (mean over seeds) and within one sd of MLP(64).

With --workers 2,4, a column for each `evoc train --workers N` (data-parallel on N processes of this
machine; the default column's flags too), and the summary says on how many sets each is within one
sd of (or above) the default column (one process).

Each finished cell is appended to OUT/results.jsonl, and a rerun skips the cells already there,
so a run can be stopped and resumed, or extended by more seeds. The Markdown table goes to stdout.

Run through scripts/quality_report.sh (which installs Debian's python3-sklearn and python3-torch).
"""
import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np

BUILTIN = ['interaction', 'xor']
MODELS = ['evoc', 'evoc_grown', 'evoc_linear', 'prototype', 'linear', 'mlp', 'hgb']
HEADERS = {'evoc': 'evoc default', 'evoc_grown': 'evoc grown (`--fallback-significance -1`)',
           'evoc_linear': 'evoc linear (`--max-ops 0`)', 'prototype': 'prototype (grow_ref.py)',
           'linear': 'LogisticRegression / Ridge', 'mlp': 'MLP(64)', 'hgb': 'HistGradientBoosting'}


def read_csv(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], np.array([[float(v) for v in r] for r in rows[1:]], dtype=np.float64)


def write_csv(path, header, data):
    with open(path, 'w') as f:
        f.write(','.join(header) + '\n')
        for r in data:
            f.write(','.join('%.9g' % v for v in r) + '\n')


def make_builtin(name, rows=2000):
    """The built-in tasks' formulas (evoc's own generator draws other rows of the same task)."""
    rng = np.random.RandomState(20261123)
    x = rng.standard_normal((rows, 5)).astype(np.float32)
    if name == 'interaction':
        y = x[:, 0] * x[:, 1] + x[:, 2] + 0.1 * rng.standard_normal(rows).astype(np.float32)
    else:
        y = (x[:, 0] * x[:, 1] > 0).astype(np.float32)
    return ['x%d' % i for i in range(5)] + ['y'], np.column_stack([x, y]).astype(np.float64)


def is_classification(y):
    return bool(np.all(y >= 0) and np.all(y == np.floor(y)) and y.max() <= 1000 and len(np.unique(y)) <= 20)


def split(data, seed):
    p = np.random.RandomState(seed).permutation(len(data))
    n_te = len(data) // 5
    return data[p[n_te:]], data[p[:n_te]]


def sklearn_scores(train, test, cls, seed):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    import warnings
    warnings.filterwarnings('ignore')
    xtr, ytr, xte, yte = train[:, :-1], train[:, -1], test[:, :-1], test[:, -1]
    if cls:
        models = {'linear': LogisticRegression(max_iter=5000),
                  'mlp': MLPClassifier((64,), max_iter=1000, random_state=seed),
                  'hgb': HistGradientBoostingClassifier(random_state=seed)}
    else:
        models = {'linear': Ridge(),
                  'mlp': TransformedTargetRegressor(MLPRegressor((64,), max_iter=1000, random_state=seed),
                                                    transformer=StandardScaler()),
                  'hgb': HistGradientBoostingRegressor(random_state=seed)}
    out = {}
    for name, model in models.items():
        t = time.time()
        pipe = make_pipeline(StandardScaler(), model).fit(xtr, ytr)
        out[name] = {'score': float(pipe.score(xte, yte)), 'seconds': time.time() - t}
    return out


def meta(model_path, key):
    with open(model_path) as f:
        for line in f:
            m = re.match(r'meta "%s" "(.*)"$' % re.escape(key), line.strip())
            if m:
                return m.group(1)
    return None


def ensemble_key(k):
    return 'evoc_ensemble%d' % k


def workers_key(n):
    return 'evoc_workers%d' % n


def header(model):
    m = re.match(r'evoc_ensemble(\d+)$', model)
    if m:
        return 'evoc `--ensemble %s`' % m.group(1)
    m = re.match(r'evoc_workers(\d+)$', model)
    return 'evoc `--workers %s`' % m.group(1) if m else HEADERS[model]


def run_evoc(evoc, train_csv, test_csv, work, seed, epochs, flags, timeout):
    model = os.path.join(work, 'model.evir')
    cmd = [evoc, 'train', train_csv, '--seed', str(seed), '--epochs', str(epochs), '-o', model, '--quiet'] + flags
    t = time.time()
    subprocess.run(cmd, check=True, timeout=timeout)
    seconds = time.time() - t
    out = subprocess.run([evoc, 'eval', model, '-i', test_csv, '--engine', 'interp'], check=True,
                         capture_output=True, text=True, timeout=timeout).stdout
    score = float(re.search(r'^(accuracy|r2)\s+(\S+)', out, re.M).group(2))
    ops = meta(model, 'trainer.ops')
    if ops is None and meta(model, 'ensemble.ops'):  # "N ops: members ..."
        ops = meta(model, 'ensemble.ops').split()[0]
    return {'score': score, 'seconds': seconds, 'ops': int(ops) if ops else 0}


def run_prototype(proto, full_csv, cls, seed, epochs, timeout):
    cmd = ['/usr/bin/python3', proto, full_csv, '--task', 'cls' if cls else 'reg', '--epochs', str(epochs),
           '--seed', str(seed), '--pool', '64']
    t = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout).stdout
    j = json.loads(out.strip().splitlines()[-1])
    return {'score': j['accuracy'] if cls else j['r2'], 'seconds': time.time() - t, 'ops': j['ops'],
            'sec_per_epoch': j['sec_per_epoch']}


def mean_sd(values):
    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return m, sd


def fallback_decisions(results, sets, seeds):
    """How the default run's fallback decided, judged on the test rows: the default outputs the
    linear model (0 ops) or the grown network; the evoc_grown and evoc_linear cells of the same seed
    say which of the two was better on the test rows."""
    n = kept_linear_wrongly = kept_grown_wrongly = fell_back = 0
    for r in results:
        m = r['models']
        if r['set'] not in sets or r['seed'] not in seeds or not all(k in m for k in ('evoc', 'evoc_grown', 'evoc_linear')):
            continue
        if m['evoc_grown'].get('ops', 0) == 0:
            continue  # nothing grown: no decision to make
        n += 1
        linear = m['evoc'].get('ops', 0) == 0
        fell_back += linear
        if linear and m['evoc_grown']['score'] > m['evoc_linear']['score']:
            kept_linear_wrongly += 1
        if not linear and m['evoc_grown']['score'] < m['evoc_linear']['score']:
            kept_grown_wrongly += 1
    if not n:
        return ''
    return ('Fallback decisions (runs that grew ops): %d of %d output the linear model; judged on the test rows, '
            '%d kept the linear model where the grown network was better and %d kept the grown network where the '
            'linear model was better.' % (fell_back, n, kept_linear_wrongly, kept_grown_wrongly))


def table(results, sets, seeds, models):
    lines = ['| data | metric | rows | ' + ' | '.join(header(m) for m in models) + ' |',
             '| --- | --- | ---: | ' + ' | '.join('---' for _ in models) + ' |']
    summary = {'linear': 0, 'mlp': 0, 'prototype': 0, 'sets': 0}
    ensemble = next((m for m in models if m.startswith('evoc_ensemble')), None)
    ens = {'sets': 0, 'default': 0, 'mlp': 0}
    parallel = {m: [0, 0] for m in models if m.startswith('evoc_workers')}  # sets within one sd, sets
    for s in sets:
        cells = [r for r in results if r['set'] == s and r['seed'] in seeds]
        if not cells:
            continue
        row = '| %s | %s | %d |' % (s, cells[0]['metric'], cells[0]['rows'])
        stats = {}
        for m in models:
            v = [r['models'][m]['score'] for r in cells if m in r['models']]
            if v:
                stats[m] = mean_sd(v)
                ops = [r['models'][m].get('ops') for r in cells if m in r['models'] and 'ops' in r['models'][m]]
                extra = (' (%.0f ops)' % (sum(ops) / len(ops))
                         if ops and (m in ('evoc', 'prototype') or m == ensemble or m in parallel) else '')
                row += ' %.3f ± %.3f%s |' % (stats[m] + (extra,))
            else:
                row += ' – |'
        lines.append(row)
        if 'evoc' in stats:
            summary['sets'] += 1
            e, esd = stats['evoc']
            for ref in ('linear', 'mlp', 'prototype'):
                if ref in stats and e + max(esd, stats[ref][1]) >= stats[ref][0]:
                    summary[ref] += 1
        for m in parallel:
            if m in stats and 'evoc' in stats:
                parallel[m][1] += 1
                parallel[m][0] += stats[m][0] + max(stats[m][1], stats['evoc'][1]) >= stats['evoc'][0]
        if ensemble in stats:
            ens['sets'] += 1
            e, esd = stats[ensemble]
            ens['default'] += 'evoc' in stats and e >= stats['evoc'][0]
            ens['mlp'] += 'mlp' in stats and e + max(esd, stats['mlp'][1]) >= stats['mlp'][0]
    lines.append('')
    compared = ', '.join('%s on %d' % (name, summary[ref])
                         for ref, name in (('linear', 'LogisticRegression/Ridge'), ('mlp', 'MLP(64)'),
                                           ('prototype', 'the prototype')) if ref in models)
    if compared:
        lines.append('evoc default within one sd of (or above) %s, of %d sets (sd: the larger of the two over seeds).'
                     % (compared, summary['sets']))
    decisions = fallback_decisions(results, sets, seeds)
    if decisions:
        lines.append('')
        lines.append(decisions)
    if ens['sets']:
        lines.append('')
        lines.append('%s at least as good as (mean over seeds) evoc default on %d of %d sets, within one sd of (or above) '
                     'MLP(64) on %d of %d.' % (header(ensemble), ens['default'], ens['sets'], ens['mlp'], ens['sets']))
    for m, (within, total) in parallel.items():
        lines.append('')
        lines.append('%s within one sd of (or above) evoc default (one process) on %d of %d sets (sd: the larger of '
                     'the two over seeds).' % (header(m), within, total))
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--evoc', required=True)
    ap.add_argument('--data', required=True, help='folder of CSV files')
    ap.add_argument('--prototype', required=True, help='grow_ref.py')
    ap.add_argument('--out', required=True, help='folder for results.jsonl and the splits')
    ap.add_argument('--sets', default='', help='comma-separated names (default: every CSV and the built-in tasks)')
    ap.add_argument('--seeds', default='1,2,3')
    ap.add_argument('--epochs', type=int, default=100)
    ap.add_argument('--models', default=','.join(MODELS))
    ap.add_argument('--evoc-flags', default='', help='extra `evoc train` flags for the default column')
    ap.add_argument('--ensemble', type=int, default=0, metavar='K',
                    help='add a column for `evoc train --ensemble K` (with the --evoc-flags) after the default one')
    ap.add_argument('--workers', default='', metavar='N,M',
                    help='add a column for each `evoc train --workers N` (data-parallel; with the --evoc-flags)')
    ap.add_argument('--timeout', type=int, default=900, help='seconds per training run')
    ap.add_argument('--table-only', action='store_true', help='print the table of the results so far')
    a = ap.parse_args()

    sets = [os.path.splitext(f)[0] for f in sorted(os.listdir(a.data)) if f.endswith('.csv')] + BUILTIN
    if a.sets:
        wanted = a.sets.split(',')
        unknown = [s for s in wanted if s not in sets]
        if unknown:
            sys.exit('quality_report: unknown data set(s) %s (choices: %s)' % (', '.join(unknown), ', '.join(sets)))
        sets = wanted
    seeds = [int(s) for s in a.seeds.split(',')]
    models = a.models.split(',')
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        sys.exit('quality_report: unknown model(s) %s (choices: %s)' % (', '.join(unknown), ', '.join(MODELS)))
    if a.ensemble < 0:
        sys.exit('quality_report: --ensemble %d: must be at least 1' % a.ensemble)
    if a.ensemble:
        models.insert(models.index('evoc') + 1 if 'evoc' in models else 0, ensemble_key(a.ensemble))
    try:
        workers = [int(n) for n in a.workers.split(',')] if a.workers else []
    except ValueError:
        sys.exit('quality_report: --workers %s: not a list of numbers' % a.workers)
    if any(n < 1 for n in workers):
        sys.exit('quality_report: --workers %s: every count must be at least 1' % a.workers)
    for i, n in enumerate(workers):
        models.insert((models.index('evoc') + 1 if 'evoc' in models else 0) + i, workers_key(n))
    # The `evoc train` flags of each evoc column (the default column's --evoc-flags, then its own).
    default = a.evoc_flags.split()
    evoc_flags = {'evoc': default, 'evoc_grown': default + ['--fallback-significance', '-1'],
                  'evoc_linear': ['--max-ops', '0'], ensemble_key(a.ensemble): default + ['--ensemble', str(a.ensemble)]}
    for n in workers:
        evoc_flags[workers_key(n)] = default + ['--workers', str(n)]
    os.makedirs(a.out, exist_ok=True)
    results_path = os.path.join(a.out, 'results.jsonl')
    results = []
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = [json.loads(line) for line in f if line.strip()]
    # Epoch-dependent cells of other runs are dropped; scikit-learn's are kept.
    for r in results:
        if r.get('epochs') != a.epochs:
            r['epochs'] = a.epochs
            r['models'] = {k: v for k, v in r['models'].items() if k in ('linear', 'mlp', 'hgb')}

    if not a.table_only:
        for s in sets:
            header, data = make_builtin(s) if s in BUILTIN else read_csv(os.path.join(a.data, s + '.csv'))
            cls = is_classification(data[:, -1])
            work = os.path.join(a.out, s)
            os.makedirs(work, exist_ok=True)
            full = os.path.join(work, 'all.csv')
            write_csv(full, header, data)
            for seed in seeds:
                record = next((r for r in results if r['set'] == s and r['seed'] == seed), None)
                if record is None:
                    record = {'set': s, 'seed': seed, 'epochs': a.epochs, 'rows': len(data),
                              'metric': 'accuracy' if cls else 'r2', 'models': {}}
                    results.append(record)
                todo = [m for m in models if m not in record['models']]
                if not todo:
                    continue
                train, test = split(data, seed)
                train_csv, test_csv = os.path.join(work, 'train%d.csv' % seed), os.path.join(work, 'test%d.csv' % seed)
                write_csv(train_csv, header, train)
                write_csv(test_csv, header, test)
                for m in todo:
                    try:
                        if m in evoc_flags:
                            record['models'][m] = run_evoc(a.evoc, train_csv, test_csv, work, seed, a.epochs,
                                                           evoc_flags[m], a.timeout)
                        elif m == 'prototype':
                            record['models'][m] = run_prototype(a.prototype, full, cls, seed, a.epochs, a.timeout)
                        elif m in ('linear', 'mlp', 'hgb'):
                            for k, v in sklearn_scores(train, test, cls, seed).items():
                                record['models'][k] = v
                    except subprocess.TimeoutExpired:
                        print('%s seed %d: %s ran past %d s; left out' % (s, seed, m, a.timeout), file=sys.stderr)
                    print('%s seed %d %s: %s' % (s, seed, m, record['models'].get(m, {}).get('score')),
                          file=sys.stderr, flush=True)
                with open(results_path, 'w') as f:
                    for r in results:
                        f.write(json.dumps(r) + '\n')
    print(table(results, sets, seeds, models))


if __name__ == '__main__':
    main()
