import { className, type Classification, type FarmerConfig } from '@farmer/ar-gmm/browser';

/**
 * Shows the pad's class posterior in `box`: one row per class (its name from
 * the config, else the digit) with a bar and the probability, the argmax
 * highlighted. Each row carries the exact p(y|x) in `data-p` (the text is
 * rounded). Null (an unconditional model) shows a note instead.
 */
export function showClassProbabilities(box: HTMLElement, config: Pick<FarmerConfig, 'classNames'>, c: Classification | null): void {
  if (!c) {
    box.replaceChildren(Object.assign(document.createElement('p'), { className: 'hint', textContent: 'This model is unconditional (no classes), so it gives no class probabilities; bits/dim only.' }));
    return;
  }
  const best = c.predicted[0];
  const list = document.createElement('ol');
  list.className = 'class-probs';
  for (let k = 0; k < c.numClasses; k++) {
    const p = c.posterior[k];
    const row = document.createElement('li');
    row.dataset.class = String(k);
    row.dataset.p = String(p);
    if (k === best) row.classList.add('best');
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    row.append(
      Object.assign(document.createElement('span'), { className: 'name', textContent: className(config, k) }),
      Object.assign(document.createElement('span'), { className: 'track' }),
      Object.assign(document.createElement('span'), { className: 'p', textContent: `${(100 * p).toFixed(1)}%` }),
    );
    row.querySelector('.track')!.append(bar);
    list.append(row);
  }
  box.replaceChildren(
    Object.assign(document.createElement('p'), { className: 'hint', textContent: `p(class | image), Bayes' rule over the ${c.numClasses} class-conditional likelihoods (uniform prior):` }),
    list,
  );
}
